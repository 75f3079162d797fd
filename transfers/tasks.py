from celery import shared_task


@shared_task(acks_late=True)
def run_import(job_id: int) -> None:
    """Thin wrapper: the work and its rules live in transfers.services.import_run."""
    from transfers.services import import_run

    import_run(job_id=job_id)


# A file within the IMPORT_MAX_* limits is read and previewed in well under a minute; the limits
# bound what is left, and a run past them is refused with a message (transfers.services.import_read).
@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def read_import(job_id: int) -> None:
    """Thin wrapper: an upload is read and previewed by transfers.services.import_read, in the worker."""
    from transfers.services import import_read

    import_read(job_id=job_id)
