"""`tertulia up` running its plan: the stages started in turn, the summary once it is up,
every process stopped on Ctrl-C or SIGTERM (`services/up.py` makes the plan)."""

from __future__ import annotations

import asyncio
import signal

from services.supervisor import Output, StartupFailed, Supervisor
from services.up_options import UpOptions, UpPlan


async def run_up(plan: UpPlan, options: UpOptions, output: Output) -> int:
    import httpx

    supervisor = Supervisor(output)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, supervisor.request_stop)
    status = 1
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            for stage in plan.stages:
                if supervisor.stop_requested.is_set():
                    break
                await supervisor.start_stage(stage, client)
        if supervisor.stop_requested.is_set():
            status = 0
        else:
            output.say(f"Tertulia is up: {plan.url}")
            if options.demo:
                from services.demo import fill_demo

                try:
                    for line in await fill_demo(plan.url, options.data_dir,
                                                plan.database_urls.get("chat")):
                        output.say(line)
                except Exception as exc:  # the system stays up; the demo is a convenience
                    output.say(f"demo data could not be created: {exc}", "WARN")
            output.block(await summary(plan, options))
            await supervisor.stop_requested.wait()
            status = 0
    except StartupFailed as exc:
        output.say(f"Tertulia did not start: {exc}", "ERROR")
        for child in supervisor.children:
            if not child.running or child.spec.name in str(exc):
                for line in child.tail:
                    output.line(child.spec.name, line, everything=True)
    finally:
        output.say("Stopping...")
        await supervisor.stop_all()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    output.say("Stopped.")
    return status


async def summary(plan: UpPlan, options: UpOptions) -> list[tuple[str, str]]:
    """What a newcomer needs once the system is up: where to go, who is admin, what is where."""
    from services.chat.bootstrap import has_accounts
    from services.chat.settings import ChatSettings

    try:
        chat_db = plan.database_urls.get("chat")
        accounts = await has_accounts(ChatSettings(
            data_dir=options.data_dir, **({"database_url": chat_db} if chat_db else {})))
    except Exception:  # a hint, not a check: say what holds either way
        accounts = None
    admin = {
        False: "the first account you create becomes the administrator",
        True: "accounts exist already; an administrator's account opens the dashboard",
        None: "the first account created on an empty system becomes the administrator",
    }[accounts]
    logs = ("on this console, one line per event (--log-format json: each line as the "
            "process wrote it)" if options.log_format == "text" else
            "on this console, each line as the process wrote it")
    return [
        ("Open", plan.url),
        ("Dashboard", f"{plan.url}dashboard (administrators)"),
        ("Admin", admin),
        ("Data", f"{options.data_dir} (SQLite databases, signing key, NATS JetStream "
                 "store, gateway state)" if options.postgres is None else
                 f"{options.data_dir} (signing key, NATS JetStream stores, gateway state); "
                 f"databases {options.postgres_prefix}_<service> on PostgreSQL"),
        ("Logs", logs),
        ("Stop", "Ctrl-C"),
    ]
