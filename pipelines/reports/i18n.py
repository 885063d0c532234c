"""The words of the incident reports in French and English, keyed by the contract's ids.

In: a language ("fr" or "en") and an id from the Incident contract (incident kind, service,
severity, containment action, notification deadline) or a page label. Out: the text a reader
sees. Dates are formatted here too, without the C library's locale (so a worker with no French
locale installed still writes French dates). Unknown ids fall back to the id itself, never fail.
"""
from __future__ import annotations

import datetime as dt

LANGS = ("fr", "en")

_MONTHS = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
}
_WEEKDAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "report": "Rapport d'incident", "index_title": "Incidents détectés par Vigie",
        "index_intro": "Incidents classés par sévérité (la plus haute d'abord), avec la chronologie de chacun.",
        "summary": "Résumé", "severity": "Sévérité", "score": "Score de risque",
        "why": "Pourquoi cette sévérité", "part": "Élément", "points": "Points", "detail": "Détail",
        "services": "Services touchés", "entities": "Entités en cause", "timeline": "Chronologie",
        "timeline_caption": "Chronologie de l'attaque par source (une ligne par source, un repère par preuve)",
        "attack_chain": "Enchaînement ATT&CK", "tactic": "Tactique", "technique": "Technique",
        "first_seen": "Première trace", "last_seen": "Dernière trace", "detected_at": "Détecté à",
        "rule": "Règle", "evidence": "Preuves", "event_id": "event.id", "dataset": "Source",
        "file": "Fichier", "offset": "Position (octet)", "time": "Heure", "raw": "Ligne brute",
        "containment": "Mesures de confinement recommandées", "targets": "Cibles",
        "deadlines": "Échéances de notification", "due": "Échéance", "basis": "Base",
        "obligation": "Obligation", "signals": "Signaux et corrélations", "level": "Niveau",
        "correlation": "Corrélation", "status": "Statut", "revision": "Révision",
        "incident_id": "Identifiant", "kind": "Nature", "datasets": "Journaux",
        "accounts": "Comptes", "mailboxes": "Boîtes aux lettres", "source_ips": "Adresses IP",
        "hosts": "Machines", "domains": "Domaines", "assets": "Actifs", "criticality": "Criticité",
        "none": "aucun", "all_incidents": "Tous les incidents", "other_language": "English version",
        "hidden_chars": "Des caractères invisibles ou de contrôle figurent dans ces données : ils sont affichés sous la forme ⟨U+XXXX⟩.",
        "paris_time": "heure de Paris", "utc": "UTC", "no_evidence": "Aucune preuve rattachée.",
        "generated_by": "Rapport produit par Vigie à partir des journaux ; les heures sont celles des événements.",
        "status_new": "nouveau", "status_updated": "mis à jour", "mark_title": "{dataset} à {time} : {rule}",
        "more_evidence": "… et {n} autres preuves dans incidents.jsonl",
        "raw_line": "ligne complète", "lane_other": "Autre",
        "summary_sentence": "{kind}, services touchés : {services}. {n} preuve(s) dans {datasets}, du {first} au {last} ({tz}).",
        "summary_detected": "Seuil d'ouverture franchi le {detected} : les échéances de notification courent depuis ce moment.",
        "producer_title": "Intitulé d'origine (anglais)", "computed_from": "calculée depuis",
        "local_time": "Heure ({tz})", "report_language": "Langue", "colon": " :",
    },
    "en": {
        "report": "Incident report", "index_title": "Incidents detected by Vigie",
        "index_intro": "Incidents by severity (highest first), each with its timeline.",
        "summary": "Summary", "severity": "Severity", "score": "Risk score",
        "why": "Why this severity", "part": "Part", "points": "Points", "detail": "Detail",
        "services": "Affected services", "entities": "Entities involved", "timeline": "Timeline",
        "timeline_caption": "Timeline of the attack per source (one lane per source, one mark per piece of evidence)",
        "attack_chain": "ATT&CK chain", "tactic": "Tactic", "technique": "Technique",
        "first_seen": "First seen", "last_seen": "Last seen", "detected_at": "Detected at",
        "rule": "Rule", "evidence": "Evidence", "event_id": "event.id", "dataset": "Source",
        "file": "File", "offset": "Offset (bytes)", "time": "Time", "raw": "Raw line",
        "containment": "Recommended containment", "targets": "Targets",
        "deadlines": "Notification deadlines", "due": "Due", "basis": "Basis",
        "obligation": "Obligation", "signals": "Signals and correlations", "level": "Level",
        "correlation": "Correlation", "status": "Status", "revision": "Revision",
        "incident_id": "Identifier", "kind": "Kind", "datasets": "Logs",
        "accounts": "Accounts", "mailboxes": "Mailboxes", "source_ips": "IP addresses",
        "hosts": "Hosts", "domains": "Domains", "assets": "Assets", "criticality": "Criticality",
        "none": "none", "all_incidents": "All incidents", "other_language": "Version française",
        "hidden_chars": "Invisible or control characters occur in this data: they are shown as ⟨U+XXXX⟩.",
        "paris_time": "Paris time", "utc": "UTC", "no_evidence": "No evidence attached.",
        "generated_by": "Report produced by Vigie from the logs; times are the events' own times.",
        "status_new": "new", "status_updated": "updated", "mark_title": "{dataset} at {time}: {rule}",
        "more_evidence": "… and {n} more pieces of evidence in incidents.jsonl",
        "raw_line": "full line", "lane_other": "Other",
        "summary_sentence": "{kind}, affected services: {services}. {n} piece(s) of evidence in {datasets}, from {first} to {last} ({tz}).",
        "summary_detected": "Opening threshold crossed on {detected}: the notification deadlines run from then.",
        "producer_title": "Original title", "computed_from": "computed from",
        "local_time": "Time ({tz})", "report_language": "Language", "colon": ":",
    },
}

KINDS = {
    "fr": {"phishing": "Hameçonnage", "account-takeover": "Prise de contrôle de compte",
           "web-attack": "Attaque du site web", "vpn-intrusion": "Intrusion par le VPN",
           "mass-mailing": "Envoi massif de courriels", "campaign": "Campagne d'attaque"},
    "en": {"phishing": "Phishing", "account-takeover": "Account takeover",
           "web-attack": "Web site attack", "vpn-intrusion": "VPN intrusion",
           "mass-mailing": "Mass mailing", "campaign": "Attack campaign"},
}

SEVERITIES = {
    "fr": {1: "faible", 2: "moyenne", 3: "élevée", 4: "critique"},
    "en": {1: "low", 2: "medium", 3: "high", 4: "critical"},
}

SERVICES = {
    "fr": {"mail": "Messagerie", "web": "Site web", "remote-access": "Accès à distance (VPN, télétravail)"},
    "en": {"mail": "Mail", "web": "Web site", "remote-access": "Remote access (VPN, telework)"},
}

# Lanes of the timeline: one per log family, named for the reader.
LANES = {
    "fr": {"mail": "Messagerie", "web": "Site web", "vpn": "Accès à distance"},
    "en": {"mail": "Mail", "web": "Web site", "vpn": "Remote access"},
}

# Containment: what to do, in the order a crisis cell would do it; `steps` are the concrete
# checks behind the headline. Keyed by the contract's action ids.
ACTIONS: dict[str, dict[str, dict]] = {
    "fr": {
        "disconnect-workstations": {
            "title": "Débrancher les postes de travail",
            "steps": ["Faire débrancher du réseau (câble et Wi-Fi) les postes des personnes visées, sans les éteindre.",
                      "Noter l'heure, le poste et la personne pour chaque débranchement."]},
        "cut-remote-access": {
            "title": "Couper l'accès à distance",
            "steps": ["Fermer les sessions VPN en cours des comptes en cause, puis suspendre le VPN.",
                      "Ne rouvrir que pour les astreintes indispensables, avec des comptes vérifiés."]},
        "suspend-telework": {
            "title": "Suspendre le télétravail",
            "steps": ["Prévenir les équipes par téléphone : le télétravail est suspendu jusqu'à nouvel ordre."]},
        "reset-accounts": {
            "title": "Réinitialiser les comptes compromis",
            "steps": ["Désactiver les comptes, fermer leurs sessions (messagerie, VPN, applications).",
                      "Changer les mots de passe hors ligne, avec la personne, avant réactivation ; renforcer l'authentification."]},
        "block-sender-domain": {
            "title": "Bloquer le domaine expéditeur",
            "steps": ["Rejeter le domaine à la passerelle de messagerie et retirer les messages reçus des boîtes."]},
        "block-addresses": {
            "title": "Bloquer les adresses de l'attaquant",
            "steps": ["Bloquer les adresses en entrée et en sortie sur les pare-feux, le VPN et le proxy."]},
        "take-website-offline": {
            "title": "Mettre le site web hors ligne",
            "steps": ["Remplacer le site par une page statique d'information, isoler le serveur sans l'éteindre.",
                      "Retirer les fichiers déposés par l'attaquant après leur copie pour l'enquête."]},
        "preserve-evidence": {
            "title": "Préserver les preuves",
            "steps": ["Copier les journaux cités (fichier et position) et en calculer l'empreinte.",
                      "Ne pas réinstaller ni éteindre les machines en cause avant la copie de leur mémoire et de leurs disques."]},
        "quarantine-messages": {
            "title": "Mettre les messages en quarantaine",
            "steps": ["Retirer les messages en cause des boîtes et des files d'attente, en conservant une copie."]},
    },
    "en": {
        "disconnect-workstations": {
            "title": "Disconnect the workstations",
            "steps": ["Have the targeted people's workstations unplugged from the network (cable and Wi-Fi), not shut down.",
                      "Write down time, workstation and person for each one."]},
        "cut-remote-access": {
            "title": "Cut remote access",
            "steps": ["Close the accounts' running VPN sessions, then suspend the VPN.",
                      "Reopen only for essential on-call staff, with verified accounts."]},
        "suspend-telework": {
            "title": "Suspend telework",
            "steps": ["Tell the teams by phone: telework is suspended until further notice."]},
        "reset-accounts": {
            "title": "Reset the compromised accounts",
            "steps": ["Disable the accounts and close their sessions (mail, VPN, applications).",
                      "Change the passwords offline, with the person, before re-enabling; strengthen authentication."]},
        "block-sender-domain": {
            "title": "Block the sender domain",
            "steps": ["Reject the domain at the mail gateway and remove the received messages from the mailboxes."]},
        "block-addresses": {
            "title": "Block the attacker's addresses",
            "steps": ["Block the addresses inbound and outbound on the firewalls, the VPN and the proxy."]},
        "take-website-offline": {
            "title": "Take the web site offline",
            "steps": ["Replace the site with a static notice page; isolate the server without shutting it down.",
                      "Remove the attacker's files once they are copied for the investigation."]},
        "preserve-evidence": {
            "title": "Preserve evidence",
            "steps": ["Copy the logs cited (file and offset) and record their hashes.",
                      "Do not reinstall or shut down the machines involved before their memory and disks are copied."]},
        "quarantine-messages": {
            "title": "Quarantine the messages",
            "steps": ["Remove the messages from mailboxes and queues, keeping a copy."]},
    },
}

# Notification obligations: who is told, by when, on what legal basis.
DEADLINES: dict[str, dict[str, dict[str, str]]] = {
    "fr": {
        "health-serious-incident": {
            "title": "Déclaration d'incident grave de sécurité des systèmes d'information (santé)",
            "who": "ARS, via le portail de signalement (CERT Santé)", "delay": "sans délai",
            "basis": "Code de la santé publique, art. L.1111-8-2"},
        "nis2-early-warning": {
            "title": "NIS2 : alerte précoce", "who": "ANSSI (CSIRT national)", "delay": "24 h",
            "basis": "Directive (UE) 2022/2555, art. 23 §4 a)"},
        "nis2-notification": {
            "title": "NIS2 : notification d'incident", "who": "ANSSI (CSIRT national)", "delay": "72 h",
            "basis": "Directive (UE) 2022/2555, art. 23 §4 b)"},
        "nis2-final-report": {
            "title": "NIS2 : rapport final", "who": "ANSSI (CSIRT national)",
            "delay": "un mois après la notification", "basis": "Directive (UE) 2022/2555, art. 23 §4 d)"},
        "gdpr-breach": {
            "title": "RGPD : notification de violation de données personnelles",
            "who": "CNIL (autorité de contrôle)", "delay": "72 h",
            "basis": "Règlement (UE) 2016/679, art. 33"},
    },
    "en": {
        "health-serious-incident": {
            "title": "Health sector: declaration of a serious information-system security incident",
            "who": "Regional health agency (ARS), via the reporting portal (CERT Santé)",
            "delay": "without delay", "basis": "French Public Health Code, art. L.1111-8-2"},
        "nis2-early-warning": {
            "title": "NIS2: early warning", "who": "ANSSI (national CSIRT)", "delay": "24 h",
            "basis": "Directive (EU) 2022/2555, art. 23(4)(a)"},
        "nis2-notification": {
            "title": "NIS2: incident notification", "who": "ANSSI (national CSIRT)", "delay": "72 h",
            "basis": "Directive (EU) 2022/2555, art. 23(4)(b)"},
        "nis2-final-report": {
            "title": "NIS2: final report", "who": "ANSSI (national CSIRT)",
            "delay": "one month after the notification", "basis": "Directive (EU) 2022/2555, art. 23(4)(d)"},
        "gdpr-breach": {
            "title": "GDPR: personal data breach notification",
            "who": "CNIL (supervisory authority)", "delay": "72 h",
            "basis": "Regulation (EU) 2016/679, art. 33"},
    },
}

# The order in which actions and deadlines are listed (most urgent first).
ACTION_ORDER = ("disconnect-workstations", "cut-remote-access", "suspend-telework", "reset-accounts",
                "block-sender-domain", "block-addresses", "quarantine-messages",
                "take-website-offline", "preserve-evidence")
DEADLINE_ORDER = ("health-serious-incident", "nis2-early-warning", "gdpr-breach", "nis2-notification",
                  "nis2-final-report")


def checked_lang(lang: str) -> str:
    """`lang` if Vigie writes it, else ValueError naming the languages it writes."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; reports are written in: {', '.join(LANGS)}")
    return lang


def label(lang: str, key: str) -> str:
    """A page label in `lang` (the key itself when unknown)."""
    return LABELS[lang].get(key, key)


def kind_name(lang: str, kind: str) -> str:
    """An incident kind for the reader."""
    return KINDS[lang].get(kind, kind or "?")


def severity_name(lang: str, severity: int | None) -> str:
    """TheHive's 1-4 severity as a word."""
    return SEVERITIES[lang].get(severity or 0, "?")


def service_name(lang: str, service: str) -> str:
    """mail / web / remote-access for the reader."""
    return SERVICES[lang].get(service, service)


def lane_name(lang: str, family: str) -> str:
    """A timeline lane (log family) for the reader."""
    return LANES[lang].get(family, LABELS[lang]["lane_other"])


def action_text(lang: str, action_id: str) -> dict:
    """{title, steps} for a containment action id (unknown ids are shown as they are)."""
    return ACTIONS[lang].get(action_id, {"title": action_id, "steps": []})


def deadline_text(lang: str, deadline_id: str) -> dict:
    """{title, who, delay, basis} for a notification deadline id."""
    return DEADLINES[lang].get(deadline_id, {"title": deadline_id, "who": "", "delay": "", "basis": ""})


def format_datetime(lang: str, when: dt.datetime, with_weekday: bool = True) -> str:
    """A timezone-aware datetime in the reader's words, e.g. 'vendredi 27 novembre 2026 à 19:07'
    or 'Friday 27 November 2026, 19:07'."""
    month = _MONTHS[lang][when.month - 1]
    day = _WEEKDAYS[lang][when.weekday()] + " " if with_weekday else ""
    if lang == "fr":
        first = "1er" if when.day == 1 else str(when.day)
        return f"{day}{first} {month} {when.year} à {when:%H:%M}"
    return f"{day}{when.day} {month} {when.year}, {when:%H:%M}"


def format_time(when: dt.datetime, seconds: bool = True) -> str:
    """Clock time, 24-hour, the same in both languages."""
    return f"{when:%H:%M:%S}" if seconds else f"{when:%H:%M}"
