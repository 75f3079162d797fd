from celery import shared_task


@shared_task(acks_late=True)
def run_import(job_id: int) -> None:
    """Thin wrapper: the work and its rules live in transfers.importing.import_run."""
    from transfers.importing import import_run

    import_run(job_id=job_id)


@shared_task(acks_late=True)
def read_import(job_id: int) -> None:
    """Thin wrapper: an upload is read and previewed by transfers.importing.import_read, in the worker."""
    from transfers.importing import import_read

    import_read(job_id=job_id)
