"""Vigie: a SIEM log-correlation pipeline on Apache Beam (mail, web and VPN logs)."""
