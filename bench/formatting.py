"""How long the markdown subset takes on hostile text: the notifications' Python reader
(`services.notifications.domain.formatting.plain_text`) and the chat page's parser and
renderer (`js/markdown.js` + `js/formatted.js`) in Chromium, on each hostile pattern at the
message limit (4,000 characters) and at ten times it. Linear work grows about 10x between
the two; quadratic work would grow about 100x (and take seconds).

    .venv/bin/python bench/formatting.py            # Python and Chromium
    .venv/bin/python bench/formatting.py --no-browser
"""

from __future__ import annotations

import argparse
import os
import time

from services.notifications.domain import plain_text

PIECES = ("*", "_", "~~", "`", "[", "> ", "*a ", "*a _b ", "`a ``", "[a](https://x ",
          "http://", "- *a*\n", "<img src=x onerror=alert(1)>")


def hostile(size: int) -> list[tuple[str, str]]:
    texts = [(repr(p), p * (size // len(p))) for p in PIECES]
    texts.append(("'**a '…'b** '", "**a " * (size // 8) + "b** " * (size // 8)))
    texts.append(("'*a '…' c*'", "*a " * (size // 6) + "b" + " c*" * (size // 6)))
    return texts


def best_ms(fn, text: str, runs: int = 5) -> float:
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        fn(text)
        took.append(time.perf_counter() - started)
    return min(took) * 1000


def browser_ms(texts: list[str]) -> list[float]:
    """Parse and render each text in Chromium from the page's own modules (served by a
    throwaway static server), the best of five."""
    import http.server
    import threading
    from functools import partial
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium")
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]
    static = Path(__file__).resolve().parents[1] / "services" / "chat" / "static"
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = partial(Quiet, directory=str(static))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=flags)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/js/markdown.js")
            result = page.evaluate("""async (texts) => {
              const md = await import('/js/markdown.js');
              const view = await import('/js/formatted.js');
              return texts.map((text) => {
                let best = Infinity;
                for (let run = 0; run < 5; run += 1) {
                  const started = performance.now();
                  document.createElement('div').append(view.render(md.parse(text), {}));
                  best = Math.min(best, performance.now() - started);
                }
                return best;
              });
            }""", texts)
            browser.close()
            return result
    finally:
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    small, large = hostile(4000), hostile(40_000)
    py = [(name, best_ms(plain_text, a), best_ms(plain_text, b))
          for (name, a), (_, b) in zip(small, large, strict=True)]
    js = (None if args.no_browser else
          list(zip(browser_ms([t for _, t in small]), browser_ms([t for _, t in large]),
                   strict=True)))
    print("| pattern | Python 4k ms | Python 40k ms | 40k ÷ 4k"
          + ("" if js is None else " | page 4k ms | page 40k ms | 40k ÷ 4k") + " |")
    print("|---|---|---|---" + ("" if js is None else "|---|---|---") + "|")
    for i, (name, a, b) in enumerate(py):
        row = f"| `{name}` | {a:.2f} | {b:.2f} | {b / max(a, 1e-3):.1f}"
        if js is not None:
            ja, jb = js[i]
            row += f" | {ja:.2f} | {jb:.2f} | {jb / max(ja, 1e-3):.1f}"
        print(row + " |")


if __name__ == "__main__":
    main()
