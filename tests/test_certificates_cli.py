"""``ruche certificates revoke ID``: the operator revokes a volunteer's certificate over HTTP
(a real ``ruche api`` on a real Redis), as ``ruche invite`` does its invitations."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio

from core.ids import new_volunteer_id
from core.redis.keys import Keys
from core.volunteers.certificates import Certificate, Certificates, new_certificate_id
from ruche.cli import main
from tests.api.test_certificates import FIGURES
from tests.e2e.conftest import running_api
from tests.support.live_ruche import ADMIN_TOKEN, RunningApi
from web.secret import ServerSecret

__all__ = ["running_api"]


async def _with_certificates(redis_url: str, work: str, certificate_id: str = "") -> str:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        certificates = Certificates(client, Keys(), ServerSecret(client, Keys()))
        if work == "issue":
            return (await certificates.issue(new_volunteer_id(), FIGURES)).id
        checked: Certificate = await certificates.get(certificate_id)
        return "revoked" if checked.revoked_at_ms else "genuine" if checked.genuine else "forged"
    finally:
        await client.aclose()


def test_the_operator_revokes_a_certificate_from_the_command_line(
    running_api: RunningApi, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = asyncio.run(_with_certificates(redis_url, "issue"))
    assert asyncio.run(_with_certificates(redis_url, "check", issued)) == "genuine"
    flags = ["--url", running_api.base_url]

    # A token that is not the operator's is refused, and the certificate holds.
    assert main(["certificates", "revoke", issued, *flags, "--token", "rk_not_the_operator"]) == 1
    assert "unauthenticated" in capsys.readouterr().err
    assert asyncio.run(_with_certificates(redis_url, "check", issued)) == "genuine"

    assert main(["certificates", "revoke", issued, *flags, "--token", ADMIN_TOKEN]) == 0
    out, err = capsys.readouterr()
    answer = json.loads(out)
    assert answer["id"] == issued and answer["revoked_at"]
    assert f"certificate {issued} revoked" in err
    assert asyncio.run(_with_certificates(redis_url, "check", issued)) == "revoked"

    # Again: nothing changes (the first revocation's time stays).
    assert main(["certificates", "revoke", issued, *flags, "--token", ADMIN_TOKEN]) == 0
    assert json.loads(capsys.readouterr().out)["revoked_at"] == answer["revoked_at"]

    # An unknown id is refused with the server's word for it.
    assert (
        main(["certificates", "revoke", new_certificate_id(), *flags, "--token", ADMIN_TOKEN]) == 1
    )
    assert "certificate_not_found" in capsys.readouterr().err


def test_revoke_says_what_it_needs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RUCHE_URL", raising=False)
    monkeypatch.delenv("RUCHE_TOKEN", raising=False)
    assert main(["certificates", "revoke", "crt_x"]) == 2
    assert "--url" in capsys.readouterr().err
    assert main(["certificates", "revoke", "crt_x", "--url", "http://127.0.0.1:9"]) == 2
    assert "operator's token" in capsys.readouterr().err
    with pytest.raises(SystemExit) as shown:
        main(["certificates", "revoke", "--help"])
    assert shown.value.code == 0
    assert "/certificates/ID" in capsys.readouterr().out
