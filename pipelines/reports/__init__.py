"""Reports people read: the replay overview printed by `vigie demo` (overview.py) and the incident
reports (render.py: HTML and Markdown in French and English from the Jinja2 templates shipped in
templates/, with view.py, timeline.py, i18n.py and text.py behind it)."""
