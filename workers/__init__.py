"""Background processes: the Celery worker and beat of the platform.

``workers`` imports ``procure``; ``procure`` never imports ``workers`` (it
enqueues tasks by name through ``procure.queue.enqueue``).
"""
