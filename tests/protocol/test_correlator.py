"""The single-in-flight correlator: every request ends exactly once (protocol §8.3, §16.2)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from e27bridge.protocol.correlator import Correlator, EndReason, InFlightError
from e27bridge.protocol.messages import Inbound, MessageKind, decode_message


def reply(seq: int) -> Inbound:
    return decode_message(b'{"seq":%d,"area":{"get_status":{"area_id":1,"error_code":0}}}' % seq)


BROADCAST = decode_message(b'{"seq":0,"zone":{"get_status":{"zone_id":1}}}')
UNCORRELATED = decode_message(b'{"zone":{"get_status":{"zone_id":1}}}')


def test_reply_ends_the_request_once() -> None:
    correlator = Correlator()
    correlator.sent(7, now=10.0, timeout=5.0)
    assert correlator.outstanding_seq == 7
    assert correlator.deadline() == 15.0
    ended = correlator.received(reply(7), now=11.5)
    assert ended is not None
    assert (ended.seq, ended.reason, ended.reply) == (7, EndReason.REPLY, reply(7))
    assert ended.rtt == pytest.approx(1.5)
    assert not correlator.busy
    assert correlator.deadline() is None
    # The same reply again (a duplicate from the panel) ends nothing.
    assert correlator.received(reply(7), now=11.6) is None
    assert correlator.poll(now=100.0) is None
    assert correlator.connection_lost(now=100.0) is None


@pytest.mark.parametrize("other", [reply(8), BROADCAST, UNCORRELATED])
def test_other_messages_do_not_end_the_request(other: Inbound) -> None:
    correlator = Correlator()
    correlator.sent(7, now=0.0, timeout=5.0)
    assert correlator.received(other, now=1.0) is None
    assert correlator.outstanding_seq == 7
    assert correlator.last_received_at == 1.0


def test_seq_zero_is_never_a_request() -> None:
    # seq 0 is reserved for broadcasts (protocol §8.3).
    correlator = Correlator()
    with pytest.raises(ValueError):
        correlator.sent(0, now=0.0, timeout=1.0)
    assert BROADCAST.kind is MessageKind.BROADCAST


def test_timeout_ends_the_request_once() -> None:
    correlator = Correlator()
    correlator.sent(3, now=0.0, timeout=2.0)
    assert correlator.poll(now=1.999) is None
    ended = correlator.poll(now=2.0)
    assert ended is not None
    assert (ended.seq, ended.reason, ended.reply, ended.ended_at) == (
        3,
        EndReason.TIMEOUT,
        None,
        2.0,
    )
    assert correlator.poll(now=3.0) is None


def test_late_reply_after_timeout_ends_nothing() -> None:
    correlator = Correlator()
    correlator.sent(3, now=0.0, timeout=2.0)
    assert correlator.poll(now=2.5) is not None
    # The next request is under way when the late reply to the first one arrives.
    correlator.sent(4, now=2.6, timeout=2.0)
    assert correlator.received(reply(3), now=2.7) is None
    assert correlator.outstanding_seq == 4
    ended = correlator.received(reply(4), now=2.8)
    assert ended is not None
    assert ended.reason is EndReason.REPLY


def test_reply_that_arrives_past_the_deadline_is_a_timeout() -> None:
    """A reply processed after the deadline (before ``poll`` ran) does not count as a reply."""
    correlator = Correlator()
    correlator.sent(5, now=0.0, timeout=1.0)
    ended = correlator.received(reply(5), now=1.5)
    assert ended is not None
    assert (ended.reason, ended.reply, ended.ended_at) == (EndReason.TIMEOUT, None, 1.0)
    assert not correlator.busy


def test_connection_loss_ends_the_request_once() -> None:
    correlator = Correlator()
    assert correlator.connection_lost(now=0.0) is None
    correlator.sent(9, now=0.0, timeout=5.0)
    ended = correlator.connection_lost(now=1.0)
    assert ended is not None
    assert (ended.seq, ended.reason, ended.reply) == (9, EndReason.CONNECTION_LOST, None)
    assert correlator.connection_lost(now=1.1) is None
    assert correlator.received(reply(9), now=1.2) is None
    assert correlator.poll(now=10.0) is None


def test_one_request_in_flight() -> None:
    correlator = Correlator()
    correlator.sent(1, now=0.0, timeout=1.0)
    with pytest.raises(InFlightError):
        correlator.sent(2, now=0.1, timeout=1.0)
    assert correlator.outstanding_seq == 1


def test_silence_detection() -> None:
    correlator = Correlator()
    correlator.sent(1, now=0.0, timeout=1.0)
    silent = correlator.poll(now=1.0)
    assert silent is not None
    assert correlator.silent_since_sent(silent)
    correlator.sent(2, now=2.0, timeout=1.0)
    assert correlator.received(BROADCAST, now=2.5) is None
    heard = correlator.poll(now=3.0)
    assert heard is not None
    assert not correlator.silent_since_sent(heard)


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["send", "reply", "late_reply", "other", "poll", "lost"]),
        st.floats(min_value=0.0, max_value=3.0),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(EVENTS)
def test_every_request_ends_exactly_once(events: list[tuple[str, float]]) -> None:
    correlator = Correlator()
    now = 0.0
    next_seq = 1
    sent: list[int] = []
    ended: list[int] = []
    for action, step in events:
        now += step
        result = None
        if action == "send" and not correlator.busy:
            correlator.sent(next_seq, now, timeout=1.0)
            sent.append(next_seq)
            next_seq += 1
        elif action == "reply" and correlator.outstanding_seq is not None:
            result = correlator.received(reply(correlator.outstanding_seq), now)
        elif action == "late_reply" and sent:
            result = correlator.received(reply(sent[0]), now)
        elif action == "other":
            result = correlator.received(BROADCAST, now)
        elif action == "poll":
            result = correlator.poll(now)
        elif action == "lost":
            result = correlator.connection_lost(now)
        if result is not None:
            ended.append(result.seq)
            assert result.ended_at >= result.sent_at
            assert result.reason is not EndReason.REPLY or result.reply is not None
    final = correlator.connection_lost(now)
    if final is not None:
        ended.append(final.seq)
    assert sorted(ended) == sent
