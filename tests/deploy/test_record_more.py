"""More shipped alerts driven from the real agent's data into a real Prometheus (shipped rules, every `for:`
shortened to 1 s) and the shipped Alertmanager routes, each checked at the webhook: a refused reload, an SNMP
reboot (snmpd restarted), the MQTT broker gone, an SNMP warn threshold (degraded), REGISTER refused while
calls pass (Kamailio answers 401/403 to a wrong password), and a certificate expiring in 2 days."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from tests.deploy.record_stack import record_stack
from tests.deploy.test_record import am_alert
from tests.peers.base import free_port
from tests.peers.kamailio import make_certificate
from tests.snmp.conftest import ACTIVE_CALLS

pytestmark = pytest.mark.peer

EXTRA = """  - {{id: calls-reg, component: calls, kind: sip_register, interval: 1s, timeout: 900ms,
      sip_register: {{uri: "{platform}", username: "1001", password: wrong-password}}}}
  - {{id: gw-snmp, component: gw, kind: snmp, interval: 1s, timeout: 500ms,
      snmp: {{address: "{snmpd}", community: dialtone-ro, retries: 0,
              checks: [{{name: active_calls, oid: "OID.1", warn: 100}}]}}}}
  - {{id: portal-tls, component: portal, kind: http, interval: 1s, timeout: 500ms,
      http: {{url: "https://127.0.0.1:TLSPORT/", tls_config: {{ca_file: "CAFILE"}}}}}}
""".replace("OID", ACTIVE_CALLS)


@asynccontextmanager
async def https_site(tmp: Path) -> AsyncIterator[tuple[int, Path]]:
    """An HTTPS server whose certificate (openssl, now) expires in 2 days: (port, its certificate)."""
    tmp.mkdir()
    cert, key = make_certificate(tmp, "short-lived")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ctx).start()
    try:
        yield port, cert
    finally:
        await runner.cleanup()


async def test_more_alerts_reach_the_webhook(tmp_path: Path) -> None:
    async with (
        https_site(tmp_path / "tls") as (port, cert),
        record_stack(
            tmp_path, for_="1s", extra=EXTRA.replace("TLSPORT", str(port)).replace("CAFILE", str(cert))
        ) as stack,
    ):
        hook = stack.hook
        await stack.until('probe_snmp_uptime_seconds{target="sbc-ok"}', 30)
        await stack.until("dialtone_mqtt_connected == 1", 30)
        await asyncio.sleep(2)  # a few uptime samples before the reboot

        stack.config_path.write_text(stack.config_path.read_text() + "\nbogus: 1\n")
        assert not (await stack.agent.reload())[0]
        await asyncio.to_thread(stack.snmpd.stop)
        await asyncio.to_thread(stack.snmpd.start)  # sysUpTime starts again from 0: a reboot
        await asyncio.to_thread(stack.broker.stop)

        expected = [
            ("DialtoneConfigReloadFailed", "tickets", "dialtone"),
            ("SnmpDeviceRebooted", "tickets", "sbcs"),
            ("DialtoneMqttDisconnected", "tickets", "dialtone"),
            ("ComponentDegraded", "tickets", "gw"),
            ("SipRegistrationFailingEverywhere", "pager", "calls"),
            ("CertificateExpiresVerySoon", "pager", "portal"),
            ("CertificateExpiresSoon", "tickets", "portal"),
        ]
        for name, receiver, component in expected:
            await hook.wait_for(
                lambda n=name, r=receiver, c=component: bool(  # type: ignore[misc]
                    hook.alerts(r, alertname=n, component=c)
                ),
                60,
                f"{name} of {component} at {receiver}",
            )
        # The ladder: calls' REGISTER failing everywhere is its P1; VoiceSomeSipTargetsFailing (some SIP
        # targets down, the call target up) fires beside it in Prometheus and is inhibited as a P2. (With
        # every `for:` at 1 s they may notify together once; shipped, the P2 holds 5m and the P1 30s.)
        await stack.until('ALERTS{alertname="VoiceSomeSipTargetsFailing",component="calls",alertstate="firing"}')
        for _ in range(40):
            some = await am_alert(stack, "VoiceSomeSipTargetsFailing", "calls")
            if some is not None and some["status"]["state"] == "suppressed":
                break
            await asyncio.sleep(0.5)
        assert some is not None and some["status"]["state"] == "suppressed", some
