"""The curator (``crm_env.learning.curator``): proposals become candidates or evidence, candidates are
promoted on evidence, harmful entries are retired, every change with its reason; applied through the store."""

from __future__ import annotations

from pathlib import Path

from crm_env.learning.curator import HARM_MARGIN, MIN_SAMPLE, PROMOTE_EVIDENCE, consider, review
from crm_env.learning.entries import (
    AddEntry,
    AddEvidence,
    CountImpact,
    Cue,
    Entry,
    Evidence,
    Impact,
    Lifecycle,
)
from crm_env.learning.store import MemoryStore


def _proposal(turn: int, episode: str = "ep-1") -> tuple[Entry, str]:
    entry = Entry(cue=Cue(keywords=("stage",)), instruction="Write stage values exactly as the CRM spells them.",
                  expected_effect="no casing rejections", rationale="casing",
                  evidence=(Evidence(episode_id=episode, turn_id=turn, rationale="rejected for case"),))
    return entry, "rule 'casing' fired"


def _store(tmp_path: Path) -> MemoryStore:
    return MemoryStore(f"sqlite:///{tmp_path / 'memory.db'}")


def test_a_new_proposal_is_a_candidate_and_a_repeat_adds_evidence_then_promotes(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        first = consider(store.state(), [_proposal(1)])
        assert [type(c) for c in first] == [AddEntry] and "proposed" in first[0].reason
        store.extend(first)
        assert store.state().by_status(Lifecycle.CANDIDATE)
        again = consider(store.state(), [_proposal(2, "ep-2")])
        assert isinstance(again[0], AddEvidence)
        assert PROMOTE_EVIDENCE == 2 and again[-1].status is Lifecycle.ACTIVE and "2 turn(s)" in again[-1].reason
        store.extend(again)
        assert [e.status for e in store.state().entries.values()] == [Lifecycle.ACTIVE]


def test_retired_entries_are_not_brought_back(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        store.extend(consider(store.state(), [_proposal(1), _proposal(2, "ep-2")]))
        entry_id = next(iter(store.state().entries))
        store.extend([CountImpact(entry_id=entry_id, reason="run", impact=Impact(
            injected=MIN_SAMPLE, success_with=1, matched_not_injected=MIN_SAMPLE, success_without=9))])
        (retire,) = review(store.state())
        assert retire.status is Lifecycle.RETIRED and "1/10 (10%) with it, 9/10 (90%) without" in retire.reason
        store.extend([retire])
        assert consider(store.state(), [_proposal(3, "ep-3")]) == []


def test_neutral_helpful_and_small_samples_are_kept(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        store.extend(consider(store.state(), [_proposal(1), _proposal(2, "ep-2")]))
        entry_id = next(iter(store.state().entries))
        within = int(MIN_SAMPLE * (0.8 - HARM_MARGIN)) + 1  # less than the margin below "without"
        for impact in (Impact(injected=MIN_SAMPLE - 1, matched_not_injected=50, success_without=50),
                       Impact(injected=MIN_SAMPLE, success_with=within, matched_not_injected=MIN_SAMPLE,
                              success_without=8),
                       # beyond the margin but not significant: 2/10 against 8/10 is z = -2.68
                       Impact(injected=MIN_SAMPLE, success_with=2, matched_not_injected=MIN_SAMPLE,
                              success_without=8)):
            state = store.state()
            changed = state.entries[entry_id].model_copy(update={"impact": impact})
            state.entries[entry_id] = changed
            assert review(state) == []
