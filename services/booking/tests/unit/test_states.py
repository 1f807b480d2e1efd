"""The transition table, every (status, trigger) pair of it."""

import itertools

import pytest

from booking.domain.states import TABLE, TERMINAL, Effect as E, Status as S, Transition, TransitionRefused, Trigger as T, transition

EXPECTED = {
    (S.REQUESTED, T.HOLD_PLACED): (S.REQUESTED, {E.REQUEST_CHECKOUT}),
    (S.REQUESTED, T.HOLD_REFUSED): (S.UNAVAILABLE, set()),
    (S.REQUESTED, T.CHECKOUT_CREATED): (S.PENDING_PAYMENT, set()),
    (S.REQUESTED, T.PAYMENT_AUTHORIZED): (S.PENDING_APPROVAL, {E.EXTEND_HOLD}),
    (S.PENDING_PAYMENT, T.PAYMENT_AUTHORIZED): (S.PENDING_APPROVAL, {E.EXTEND_HOLD}),
    (S.PENDING_PAYMENT, T.AUTHORIZATION_FAILED): (S.PENDING_PAYMENT, set()),
    (S.REQUESTED, T.AUTHORIZATION_MISMATCH): (S.REQUESTED, {E.VOID_PAYMENT}),
    (S.PENDING_PAYMENT, T.AUTHORIZATION_MISMATCH): (S.PENDING_PAYMENT, {E.VOID_PAYMENT}),
    (S.PENDING_APPROVAL, T.APPROVE): (S.PENDING_APPROVAL, {E.COMMIT_HOLD}),
    (S.PENDING_APPROVAL, T.HOLD_COMMITTED): (S.PENDING_APPROVAL, {E.CAPTURE_PAYMENT}),
    (S.PENDING_APPROVAL, T.COMMIT_REFUSED): (S.UNAVAILABLE, {E.VOID_PAYMENT, E.RELEASE_HOLD}),
    (S.PENDING_APPROVAL, T.DECLINE): (S.DECLINED, {E.VOID_PAYMENT, E.RELEASE_HOLD}),
    (S.PENDING_APPROVAL, T.PAYMENT_CAPTURED): (S.CONFIRMED, {E.COMMIT_HOLD}),
    (S.PENDING_APPROVAL, T.CAPTURE_FAILED): (S.PAYMENT_FAILED, {E.VOID_PAYMENT, E.RELEASE_HOLD}),
    (S.PENDING_APPROVAL, T.APPROVAL_LAPSED): (S.EXPIRED, {E.VOID_PAYMENT, E.RELEASE_HOLD}),
    (S.PENDING_APPROVAL, T.HOLD_EXPIRED): (S.EXPIRED, {E.VOID_PAYMENT, E.RELEASE_HOLD}),
    (S.REQUESTED, T.HOLD_LAPSED): (S.EXPIRED, {E.VOID_PAYMENT, E.RELEASE_HOLD}),
    (S.PENDING_PAYMENT, T.HOLD_LAPSED): (S.EXPIRED, {E.VOID_PAYMENT, E.RELEASE_HOLD}),
    (S.REQUESTED, T.HOLD_EXPIRED): (S.EXPIRED, {E.VOID_PAYMENT, E.RELEASE_HOLD}),
    (S.PENDING_PAYMENT, T.HOLD_EXPIRED): (S.EXPIRED, {E.VOID_PAYMENT, E.RELEASE_HOLD}),
    (S.REQUESTED, T.CANCEL): (S.CANCELLED, {E.VOID_PAYMENT, E.RELEASE_HOLD}),
    (S.PENDING_PAYMENT, T.CANCEL): (S.CANCELLED, {E.VOID_PAYMENT, E.RELEASE_HOLD}),
    (S.PENDING_APPROVAL, T.CANCEL): (S.CANCELLED, {E.VOID_PAYMENT, E.RELEASE_HOLD}),
    (S.CONFIRMED, T.CANCEL): (S.CANCELLED, {E.REFUND_LESS_FEE, E.RELEASE_HOLD}),
    (S.CONFIRMED, T.ASSIGN_ROOM): (S.CONFIRMED, set()),
    (S.CHECKED_IN, T.ASSIGN_ROOM): (S.CHECKED_IN, set()),
    (S.CONFIRMED, T.CHECK_IN): (S.CHECKED_IN, set()),
    (S.CHECKED_IN, T.CHECK_OUT): (S.CHECKED_OUT, set()),
    (S.CONFIRMED, T.NO_SHOW): (S.NO_SHOW, set()),
}
for over in (S.DECLINED, S.CANCELLED, S.EXPIRED, S.UNAVAILABLE, S.PAYMENT_FAILED):
    EXPECTED[(over, T.PAYMENT_AUTHORIZED)] = (over, {E.VOID_PAYMENT})
    EXPECTED[(over, T.PAYMENT_CAPTURED)] = (over, {E.REFUND_IN_FULL})
    EXPECTED[(over, T.HOLD_PLACED)] = (over, {E.RELEASE_HOLD})
    EXPECTED[(over, T.HOLD_COMMITTED)] = (over, {E.RELEASE_HOLD})

ALL_PAIRS = list(itertools.product(S, T))


@pytest.mark.parametrize(("status", "trigger"), ALL_PAIRS, ids=[f"{s}-{t}" for s, t in ALL_PAIRS])
def test_every_pair_is_as_specified(status, trigger):
    if (status, trigger) in EXPECTED:
        nxt, effects = EXPECTED[(status, trigger)]
        found = transition(status, trigger)
        assert found.next == nxt
        assert set(found.effects) == effects
    else:
        with pytest.raises(TransitionRefused):
            transition(status, trigger)


def test_the_table_has_nothing_unspecified():
    assert set(TABLE) == set(EXPECTED)


def test_terminal_states_take_no_guest_or_staff_action():
    for status in TERMINAL:
        for trigger in (T.APPROVE, T.DECLINE, T.CANCEL, T.CHECK_IN, T.CHECK_OUT, T.NO_SHOW, T.ASSIGN_ROOM):
            with pytest.raises(TransitionRefused):
                transition(status, trigger)


def test_terminal_states_never_leave():
    for (status, _), found in TABLE.items():
        if status in TERMINAL:
            assert found.next == status


def test_money_is_never_taken_without_giving_rooms_back():
    for (status, trigger), found in TABLE.items():
        if found.next in (S.DECLINED, S.EXPIRED, S.PAYMENT_FAILED, S.UNAVAILABLE) and found.next != status \
                and status != S.REQUESTED:  # REQUESTED → UNAVAILABLE: inventory refused, nothing held
            assert E.RELEASE_HOLD in found.effects
        if found.next == S.CANCELLED and status != S.CANCELLED:
            assert E.RELEASE_HOLD in found.effects and (E.VOID_PAYMENT in found.effects or E.REFUND_LESS_FEE in found.effects)


def test_the_card_is_captured_only_once_the_rooms_are_sold():
    """Approval commits the hold first; only its confirmation asks for the capture."""
    assert E.CAPTURE_PAYMENT not in transition(S.PENDING_APPROVAL, T.APPROVE).effects
    assert [t for (s, t), found in TABLE.items() if E.CAPTURE_PAYMENT in found.effects] == [T.HOLD_COMMITTED]
    refused = transition(S.PENDING_APPROVAL, T.COMMIT_REFUSED)
    assert refused.next == S.UNAVAILABLE and E.VOID_PAYMENT in refused.effects


def test_a_failed_capture_leaves_no_authorisation_open():
    assert E.VOID_PAYMENT in transition(S.PENDING_APPROVAL, T.CAPTURE_FAILED).effects


def test_happy_path_reaches_checked_out():
    status = S.REQUESTED
    for trigger in (T.HOLD_PLACED, T.CHECKOUT_CREATED, T.PAYMENT_AUTHORIZED, T.APPROVE, T.HOLD_COMMITTED,
                    T.PAYMENT_CAPTURED,
                    T.ASSIGN_ROOM, T.CHECK_IN, T.CHECK_OUT):
        status = transition(status, trigger).next
    assert status == S.CHECKED_OUT
    assert isinstance(TABLE[(S.REQUESTED, T.HOLD_PLACED)], Transition)
