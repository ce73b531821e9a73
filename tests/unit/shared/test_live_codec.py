"""The live wire codec (`shared.contracts.live`): what one side writes the other reads."""

from __future__ import annotations

import orjson

from shared.contracts.live import (
    FrameHeaders,
    FrameRoute,
    batch_headers,
    encode_frame,
    frame_headers,
    split_batch,
)


def test_a_frame_is_the_protocol_envelope() -> None:
    assert orjson.loads(encode_frame("message", {"id": 1})) == {"type": "message",
                                                                "data": {"id": 1}}


def test_headers_carry_only_what_applies_and_read_back_as_the_route() -> None:
    assert frame_headers("typing") == {"Tertulia-Frame-Type": "typing"}
    headers = frame_headers("room_updated", seq=7, exclude_connection="c-1", exclude_user=3,
                            about_user=4, members_only=True)
    assert FrameRoute.from_headers(headers) == FrameRoute("room_updated", 7, "c-1", 3, 4, True)
    assert FrameRoute.from_headers(frame_headers("room_updated")).members_only is False


def test_a_broadcast_id_rides_in_its_header() -> None:
    headers = frame_headers("admin_broadcast", broadcast_id="b-1")
    assert headers[FrameHeaders.BROADCAST_ID] == "b-1"


def test_a_batch_splits_back_into_its_frames_in_order() -> None:
    payloads = [encode_frame("member_joined", {"user_id": 2}), encode_frame("message", {"seq": 8}),
                encode_frame("message", {"seq": 9})]
    headers = batch_headers([("member_joined", None), ("message", 8), ("message", 9)])
    assert headers[FrameHeaders.TYPE] == "frames"
    assert list(split_batch(headers, b"\n".join(payloads))) == [
        (FrameRoute("member_joined"), payloads[0]), (FrameRoute("message", 8), payloads[1]),
        (FrameRoute("message", 9), payloads[2])]


def test_a_single_frame_splits_into_itself() -> None:
    payload = encode_frame("message", {"seq": 3})
    assert list(split_batch(frame_headers("message", seq=3), payload)) == [
        (FrameRoute("message", 3), payload)]
