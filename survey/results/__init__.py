"""What people read: the results dashboard, unit pages, the public page (/cong-khai) and their charts.

Everything here reads stored index runs (``survey.indices``); nothing recomputes an estimate on a request.
"""
