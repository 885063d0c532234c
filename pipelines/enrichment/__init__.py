"""Enrichment: where an address is (GeoIP/ASN), which lists name it (threat and anonymiser
lists), and what the hospital knows of its accounts and assets (inventory).

Pure code over Arrow tables, testable without Beam; `pipelines.transforms.enrich` wires it in.
"""
