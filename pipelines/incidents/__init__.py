"""Incident assembly: signals and correlation results -> incident records for the crisis cell.

Pure Python over plain data (no Beam, no rendering): `facts` reads one signal row into the
entities and linking keys it carries, `assembly` groups signals into incidents in event-time
order (`assemble(rows)`: the incidents a set of signals makes), `reassembly` does it for a
stream (signals released as event time passes, late ones re-assembled in their place, so that
the final incidents are `assemble`'s; docs/incidents-parity.md), `scoring` weighs them,
`response` derives containment actions and notification deadlines (as ids), `record` builds the
record of INCIDENT_CONTRACT.md, `attack` parses ATT&CK tags, `policy` holds every threshold,
`times` converts times. The Beam shell is pipelines/transforms/incidents.py; incidents.jsonl is
pipelines/sinks/incidents.py.
"""
