"""``CrmSandbox``: call / seed / reset / snapshot / changes, deterministic ids, the frozen clock."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from crm_env import CrmSandbox, SeedError, ToolResult

CLIENT = "11111111-1111-4111-8111-111111111111"
OPP = "22222222-2222-4222-8222-222222222222"
RECORDS = {
    "Client": [{"client_id": CLIENT, "name": "Acme", "email": "a@acme.com"}],
    "Opportunity": [{"opportunity_id": OPP, "name": "Deal", "client_id": CLIENT, "amount": 10}],
}


def test_call_returns_a_result_for_success_and_failure(sandbox):
    ok = sandbox.call("create_new_client", {"name": "Acme"})
    assert isinstance(ok, ToolResult) and ok.ok and ok.error is None
    assert ok.to_dict() == {"tool": "create_new_client", "ok": True, "data": ok.data}
    bad = sandbox.call("create_new_client", {})
    assert (bad.ok, bad.data, bad.error_type) == (False, None, "validation_error")
    assert bad.to_dict() == {"tool": "create_new_client", "ok": False, "error_type": "validation_error", "error": bad.error}
    json.dumps(ok.to_dict())
    json.dumps(bad.to_dict())


def test_unknown_tool_lists_the_available_ones(sandbox):
    result = sandbox.call("create_client", {"name": "x"})
    assert result.error_type == "unknown_tool"
    assert "create_new_client" in result.error and "client_search" in result.error
    # Non-string names are refused the same way instead of raising.
    assert sandbox.call(None, {}).error_type == "unknown_tool"  # type: ignore[arg-type]
    assert sandbox.call(["x"], {}).error_type == "unknown_tool"  # type: ignore[arg-type]


def test_call_without_arguments_means_no_arguments(sandbox):
    assert sandbox.call("client_search").ok
    assert sandbox.call("client_search", None).data["total"] == 0


def test_null_arguments_mean_not_given(sandbox):
    # LLMs often send null for optional arguments; that must not fail or erase fields.
    client = sandbox.call("create_new_client", {"name": "Acme", "email": None, "industry": "Retail"}).data
    assert client["email"] is None
    after = sandbox.call("modify_client", {"client_id": client["client_id"], "industry": None, "owner": "Kim"}).data
    assert (after["industry"], after["owner"]) == ("Retail", "Kim")
    assert sandbox.call("create_new_client", {"name": None}).error_type == "validation_error"


def test_seed_loads_checked_records_and_fills_creation_stamps(sandbox):
    seed = sandbox.seed(RECORDS)
    assert seed.size == 2
    snap = sandbox.snapshot()
    assert [c["client_id"] for c in snap["Client"]] == [CLIENT]
    assert snap["Client"][0]["created_date"] == "2026-01-15T09:00:00Z"  # from the sandbox clock
    assert snap["Opportunity"][0]["amount"] == 10.0
    assert sandbox.changes == []  # seeding is not a change made by the agent


def test_seed_replaces_previous_contents(sandbox):
    sandbox.call("create_new_client", {"name": "Leftover"})
    sandbox.seed(RECORDS)
    assert [c["name"] for c in sandbox.snapshot()["Client"]] == ["Acme"]


def test_invalid_seed_raises_and_leaves_the_crm_empty(sandbox):
    sandbox.seed(RECORDS)
    bad = {"Opportunity": [{"opportunity_id": OPP, "name": "Deal", "client_id": CLIENT}]}  # client missing
    with pytest.raises(SeedError, match="does not exist"):
        sandbox.seed(bad)
    assert all(rows == [] for rows in sandbox.snapshot().values())


def test_reset_empties_or_reseeds_and_clears_the_change_log(sandbox):
    sandbox.call("create_new_client", {"name": "A"})
    assert len(sandbox.changes) == 1
    sandbox.reset()
    assert sandbox.changes == [] and sandbox.snapshot()["Client"] == []
    sandbox.call("create_new_client", {"name": "B"})
    sandbox.reset(records=RECORDS)
    assert [c["name"] for c in sandbox.snapshot()["Client"]] == ["Acme"] and sandbox.changes == []


def test_snapshot_is_json_able_deterministic_and_a_copy(sandbox):
    sandbox.seed(RECORDS)
    for name in ("Zed", "Amy", "Bob"):
        sandbox.call("create_new_client", {"name": name})
    snap = sandbox.snapshot()
    assert list(snap) == ["Client", "Contact", "Opportunity", "Quote", "Contract", "Company", "Document", "Note"]
    assert [c["client_id"] for c in snap["Client"]] == sorted(c["client_id"] for c in snap["Client"])
    assert json.loads(json.dumps(snap)) == snap
    frozen = copy.deepcopy(snap)
    snap["Client"].clear()
    assert sandbox.snapshot() == frozen


def test_changes_log_every_write_with_before_and_after(sandbox):
    sandbox.seed(RECORDS)
    sandbox.call("modify_opportunity", {"opportunity_id": OPP, "amount": 20})
    sandbox.call("client_search", {})  # reads log nothing
    sandbox.call("modify_opportunity", {"opportunity_id": OPP, "amount": -1})  # refused: logs nothing
    sandbox.call("modify_opportunity", {"opportunity_id": OPP, "amount": 20})  # a no-op update logs nothing
    sandbox.call("delete_opportunity", {"opportunity_id": OPP})
    log = [c.to_dict() for c in sandbox.changes]
    assert [(c["op"], c["entity"], c["record_id"]) for c in log] == [("update", "Opportunity", OPP), ("delete", "Opportunity", OPP)]
    assert (log[0]["before"]["amount"], log[0]["after"]["amount"]) == (10.0, 20.0)
    assert log[1]["after"] is None and log[1]["before"]["amount"] == 20.0


def test_same_seed_gives_same_ids_and_different_seeds_differ():
    def ids(seed: int) -> list[str]:
        with CrmSandbox("memory", as_of="2026-01-15", seed=seed) as box:
            client = box.call("create_new_client", {"name": "A"}).data["client_id"]
            opp = box.call("create_new_opportunity", {"name": "D", "client_id": client}).data["opportunity_id"]
            return [client, opp]

    assert ids(7) == ids(7)
    assert ids(7) != ids(8)


def test_reset_restarts_the_id_sequence(sandbox):
    first = sandbox.call("create_new_client", {"name": "A"}).data["client_id"]
    sandbox.reset()
    assert sandbox.call("create_new_client", {"name": "A"}).data["client_id"] == first
    sandbox.reset(seed=99)
    assert sandbox.call("create_new_client", {"name": "A"}).data["client_id"] != first


def test_generated_ids_are_uuid4(sandbox):
    import uuid

    client_id = sandbox.call("create_new_client", {"name": "A"}).data["client_id"]
    assert uuid.UUID(client_id).version == 4


@pytest.mark.parametrize(
    ("as_of", "stamp"),
    [
        ("2030-05-01", "2030-05-01T09:00:00Z"),  # a date is taken at 09:00 UTC
        (date(2019, 12, 31), "2019-12-31T09:00:00Z"),
        ("2024-02-29T23:30:00+02:00", "2024-02-29T21:30:00Z"),  # normalised to UTC
    ],
)
def test_clock_supplies_timestamps_not_the_wall_clock(as_of, stamp):
    with CrmSandbox("memory", as_of=as_of) as box:
        assert box.call("create_new_client", {"name": "A"}).data["created_date"] == stamp


def test_reset_can_move_the_clock(sandbox):
    client = sandbox.call("create_new_client", {"name": "A"}).data["client_id"]
    assert not sandbox.call("create_new_opportunity", {"name": "D", "client_id": client, "close_date": "2026-01-10"}).ok
    sandbox.reset(as_of="2026-01-01")
    assert sandbox.clock.today_iso == "2026-01-01"
    client = sandbox.call("create_new_client", {"name": "A"}).data["client_id"]
    assert sandbox.call("create_new_opportunity", {"name": "D", "client_id": client, "close_date": "2026-01-10"}).ok


def test_bad_as_of_is_a_config_error():
    from crm_env.errors import ConfigError

    with pytest.raises(ConfigError, match="ISO"):
        CrmSandbox("memory", as_of="yesterday")


def test_unknown_backend_is_a_config_error():
    from crm_env.errors import ConfigError

    with pytest.raises(ConfigError, match="memory"):
        CrmSandbox("mongodb://x")


def test_bugs_propagate_instead_of_becoming_tool_errors(sandbox, monkeypatch):
    # Only ToolErrors become failed results; a crash in the store is a bug and must surface, and the
    # change log must not keep entries for the crashed call.
    def broken(*args, **kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr(sandbox.store, "insert", broken)
    with pytest.raises(ZeroDivisionError):
        sandbox.call("create_new_client", {"name": "A"})
    assert sandbox.changes == []
