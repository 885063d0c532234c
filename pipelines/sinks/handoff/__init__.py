"""Idempotent handoff of incident records to the crisis cell and its responders.

Destinations, one module each: `webhook` (generic JSON signed with HMAC-SHA256), `thehive`
(TheHive 5 alerts: a re-send updates the alert), `smtp` (mail with the HTML report and a text
alternative), `files` (JSONL, HTML and Markdown in a folder: what works when nothing else does).
Around them: `ledger` (what was delivered where, so a re-send skips it), `deadletters` (what
could not be delivered, with the record as payload, in the project's dead-letter table), `settings`
(destinations from flags and the environment; secrets never from the command line) and `run`
(deliver every incident to every destination with retries, then ledger or dead letter).
"""
