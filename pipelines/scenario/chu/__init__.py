"""Labelled scenario "chu": one evening of a university hospital's mail, web and VPN logs.

In: an output folder, a number of log lines `events` (at least MIN_EVENTS) and a seed.
Out: the eight log files below, `truth.json` (every line the attack wrote, the incidents a
correlator should raise and the correlation results the shipped rules should give), `inventory.yml` (the hospital's accounts, assets and usual country,
for `vigie replay --inventory`), `tor-exits.txt` (an anonymiser list for `--threat-list`) and a
short summary dict. Internet hosts use routable addresses (HOME_NETS, PROVIDER_NET,
SCANNER_NET) so that GeoIP and the offline country data answer.

Exactness and determinism: exactly `events` lines are written across the log files (truth.json
is not counted). The same (events, seed) gives byte-identical files: every draw comes from
random.Random instances seeded with strings derived from the seed; nothing depends on the clock,
on hash() of a str or on set order. Every file's mtime is set to the scenario's end, from which a
replay infers the year of syslog lines.

The evening: Friday 2026-11-27, 17:00-23:00 Europe/Paris (CET, UTC+1), a 9,000-staff CHU of
which a few hundred are on site or connected from home. Background lines are shared out as
web 60 % / mail 25 % / VPN 15 % (the attack's ~550 lines come on top, mostly web and mail):

  web/www-access.log            apache_combined  public site: visitors, assets, bots, noise
  web/portail-patients-iis.log  w3c              patient portal (IIS 10, UTC times, header
                                                 blocks at the start and after a restart)
  web/proxy-access.log          squid            staff outbound proxy
  mail/maillog                  postfix          gateway mx1: inbound internet mail delivered
                                                 by LMTP to the mail store, SASL submission
                                                 from webmail and VPN clients, rejects, noise
  mail/exim-mainlog             exim             internal relay: staff PCs and applications
  vpn/fortigate.log             fortigate        SSL-VPN: clinicians, IT, vendors; tunnel
                                                 events and forward-traffic logs
  vpn/asa.log                   cisco_asa        AnyConnect: on-call doctors, teleworkers
  vpn/openvpn.log               openvpn          IT administrators; internet scan noise

The attack (local times). Attacker addresses: 45.137.21.9, a rented server abroad that also
sends the look-alike domain's mail; 185.220.101.47, a Tor exit used for reconnaissance.

  18:05 phishing            2 mails from paie@chu-exemple-rh.fr (DMARC fail), "Mise à jour de
                            votre bulletin de paie", HTML attachment, 8-10 staff recipients,
                            delivered to the mail store (T1566.001)
  19:06 vpn-credential-use  AnyConnect rejections (113005) and FortiGate ssl-login-fail from
                            45.137.21.9 for phished users and a guessed account, then a tunnel
                            for one phished clinician (tunnel address 10.212.134.200), internal
                            browsing through it; tunnel down at 21:40 (T1078, T1133, T1110)
  19:41 web-scan            Nikto through the Tor exit: 80 probes, mostly 404 (T1595.002/.003)
  19:52 web-exploitation    sqlmap UNION/boolean/time-based injection on /recherche, a manual
                            ' OR '1'='1, path traversal on /download, upload of a web shell and
                            commands through it from 45.137.21.9 (T1190, T1505.003, T1059.004)
  21:18 mass-mailing        180-260 external recipients in ~12 minutes, SASL-authenticated as
                            the phished clinician from the tunnel address; bounces, Gmail rate
                            limiting and its retries until ~21:45 (T1566.001, T1078)

Every line the attack wrote is listed in its step (a Postfix message: every line of it, from
connect to removed, including its bounce notice). Background lines never use the attacker's
addresses, and the accounts the attack touches have no background VPN or SASL activity, so the
truth is exact; background still carries realistic confounders (internet scanners probing
/.env or /wp-login.php, VPN and SASL brute force, a DMARC-failing newsletter, benign CV uploads).

Expected incidents: two, linked. "account-compromise" chains phishing -> VPN credential use ->
mass mailing for the phished account (contain: disable the account, kill its VPN session, purge
the mails); "website-compromise" chains the scan and the exploitation of www (contain: isolate
the web server, remove the shell). They need different containment by different teams, so they
are separate records; they share 45.137.21.9, and each names the other in `related`: a
correlator that merges them into one campaign on that address is also right.

truth.json: {"scenario", "seed", "events", "timezone", "date", "start", "end",
  "files": {path: {"format", "family", "lines"}},
  "context": [{"id", "title", "lines"}]  (lines that are not the attack's but that a detection
      needs: the phished clinician's own tunnel from home before the attacker's, the first
      login of the impossible-travel pair),
  "attack_steps": [{"id", "title", "attack", "start", "end", "entities": {"users",
      "source_ips", "mail_addresses", "hosts"}, "indicators": {...}, "lines": [{"file", "line"}]}],
  "expected_incidents": [{"id", "title", "severity", "steps", "attack", "start", "end",
      "entities", "related"}],
  "expected_correlations": [{"rule", "group_by": {field: value}, "steps", "incident", "start",
      "end", "why"}]  (the nine results of the shipped correlation rules that are alerts, all
      the attack's; the background completes none of them, only building blocks at times)}
Times are ISO 8601 UTC to the second; line numbers are 1-based.

Changing the output: the files are pinned by a digest (tests/test_scenario.py, PINNED_DIGEST,
5,000 events, seed 7). A refactoring keeps every byte; a deliberate change renews the digest
(the failing test prints the new one) and says in its commit what changed in the files and why.

Modules: clock (date, zone, window, epoch-millisecond times), draws (seeded generators, weighted
tables, hourly profiles), internet (address blocks, Tor list), world (staff, accounts,
patients), logfiles (the files, their shares, exact budgets), mail, web, vpn (each family's
background), attack (the five steps), truth (truth.json), inventory (inventory.yml), generate
(generate_chu). Log lines are written by pipelines.scenario.formats.
"""
from pipelines.scenario.chu.attack import (ATTACKER_SERVER, ATTACKER_TUNNEL_IP, LOOKALIKE_DOMAIN,
                                           TOR_EXIT, VICTIM_OWN_SESSION)
from pipelines.scenario.chu.clock import (DATE, END_MS, SCENARIO_END, SCENARIO_START, START_MS,
                                          TIMEZONE)
from pipelines.scenario.chu.generate import MIN_EVENTS, generate_chu
from pipelines.scenario.chu.internet import HOME_NETS, PROVIDER_NET, SCANNER_NET, TOR_EXIT_NETS
from pipelines.scenario.chu.logfiles import FILES, LogFile
from pipelines.scenario.chu.world import DOMAIN, PORTAL_HOST, STAFF_COUNT, WWW_HOST

__all__ = [
    "ATTACKER_SERVER", "ATTACKER_TUNNEL_IP", "DATE", "DOMAIN", "END_MS", "FILES", "HOME_NETS",
    "LOOKALIKE_DOMAIN", "LogFile", "MIN_EVENTS", "PORTAL_HOST", "PROVIDER_NET", "SCANNER_NET",
    "SCENARIO_END", "SCENARIO_START", "STAFF_COUNT", "START_MS", "TIMEZONE", "TOR_EXIT",
    "TOR_EXIT_NETS", "VICTIM_OWN_SESSION", "WWW_HOST", "generate_chu",
]
