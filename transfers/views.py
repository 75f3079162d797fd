"""Import, export, duplicates and merge pages (the merge and duplicates API: crm/api/views.py)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models.fields.json import KeyTransform
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from core.ids import parse_id
from crm.filtersets import CompanyFilterSet, ContactFilterSet
from crm.models import Activity, Company, Contact
from pipeline.filtersets import DealFilterSet
from pipeline.models import Deal
from transfers import exporting, importing, merging, services
from transfers.duplicates import company_duplicate_pairs, duplicate_pairs, similar_contacts
from transfers.filtersets import ActivityFilterSet
from transfers.forms import ConfirmForm, DuplicateCheckForm, MappingForm, UploadForm
from transfers.models import ImportJob, ImportStatus, Merge
from transfers.readers import FileProblem

PREVIEW_ROWS = 50


# Import ----------------------------------------------------------------------


@login_required
def import_upload(request):
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            form.add_error("file", FileProblem(gettext("The file is too large.")).message)
        else:
            # Kept for the worker to read: what the file holds is never parsed in the request.
            try:
                job = services.import_upload(
                    by=request.user, kind=form.cleaned_data["kind"], file_name=upload.name, data=upload.read()
                )
            except FileProblem as problem:
                form.add_error("file", problem.message)
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                return redirect("transfers:import_preview", pk=job.pk)
    jobs = ImportJob.objects.visible_to(request.user).light()[:10]
    status_code = 400 if form.errors else 200
    return render(request, "transfers/upload.html", {"form": form, "jobs": jobs}, status=status_code)


def _job(request, pk, *, editable=False):
    jobs = ImportJob.objects.editable_by(request.user) if editable else ImportJob.objects.visible_to(request.user)
    return get_object_or_404(jobs.light(), pk=pk)


_READING = (ImportStatus.READING, ImportStatus.REFUSED)


@login_required
def import_preview(request, pk: int):
    job = _job(request, pk)
    if job.status in _READING:
        return _reading(request, job)
    if request.htmx and request.htmx.target == "import-reading":
        # The reading page's poll: the worker is done, so the whole preview page replaces it.
        return HttpResponseClientRedirect(reverse("transfers:import_preview", args=[job.pk]))
    if request.method == "POST":
        job = _job(request, pk, editable=True)
        if job.status != ImportStatus.PREVIEWED:
            return redirect("transfers:import_progress", pk=job.pk)
        form = MappingForm(request.POST, job=job)
        if form.is_valid():
            services.import_remap(
                job=job, by=request.user, mapping=form.mapping(), remember=form.cleaned_data["remember"]
            )
            return redirect("transfers:import_preview", pk=job.pk)
        status_code = 400
    else:
        form, status_code = MappingForm(job=job), 200
    errors = job.errors  # the preview's row errors (deferred with the rows; read once here)
    context = {
        "job": job,
        "form": form,
        "columns": [form[f"col_{i}"] for i in range(len(job.headers))],
        "sample": _sample(job),
        "errors": errors[:PREVIEW_ROWS],
        "more_errors": max(0, len(errors) - PREVIEW_ROWS),
        "total": job.row_count,
        "confirm_form": ConfirmForm(job=job),
    }
    return render(request, "transfers/preview.html", context, status=status_code)


def _sample(job, size: int = 5) -> list:
    """The job's first rows, read one by one from the stored array: the page never loads all its rows."""
    first = ImportJob.objects.filter(pk=job.pk).values_list(*(KeyTransform(str(i), "rows") for i in range(size)))
    return [row for row in first.get() if row is not None]


def _reading(request, job):
    """The page of a file the worker has not read yet (it polls), or has refused (it says why)."""
    context = {"job": job, "reading": job.status == ImportStatus.READING}
    template = "transfers/partials/reading.html" if request.htmx else "transfers/reading.html"
    return render(request, template, context)


@require_POST
@login_required
def import_confirm(request, pk: int):
    job = _job(request, pk, editable=True)
    if job.status != ImportStatus.PREVIEWED:
        return redirect("transfers:import_progress", pk=job.pk)
    form = ConfirmForm(request.POST, job=job)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors["mode"])
        services.import_confirm(job=job, by=request.user, skip_failing=form.cleaned_data["mode"] == ConfirmForm.SKIP)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("transfers:import_preview", pk=job.pk)
    return redirect("transfers:import_progress", pk=job.pk)


@login_required
def import_progress(request, pk: int):
    job = _job(request, pk)
    if job.status in _READING:
        return redirect("transfers:import_preview", pk=job.pk)
    progress = importing.get_progress(job.pk)
    running = job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
    percent = (
        int(100 * progress["done"] / progress["total"]) if progress["total"] and running else (0 if running else 100)
    )
    context = {"job": job, "progress": progress, "percent": percent, "running": running}
    template = "transfers/partials/progress.html" if request.htmx else "transfers/progress.html"
    return render(request, template, context)


@require_POST
@login_required
def import_cancel(request, pk: int):
    job = _job(request, pk, editable=True)
    if job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        services.import_cancel(job=job)
        messages.info(request, gettext("Cancelling: everything the import wrote is rolled back."))
    return redirect("transfers:import_progress", pk=job.pk)


@require_POST
@login_required
def import_undo(request, pk: int):
    job = _job(request, pk, editable=True)
    try:
        services.import_undo(job=job, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, gettext("The import was undone."))
    return redirect("transfers:import_progress", pk=job.pk)


@require_GET
@login_required
def import_errors(request, pk: int):
    job = get_object_or_404(ImportJob.objects.visible_to(request.user), pk=pk)
    response = HttpResponse(exporting.errors_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


# Export ----------------------------------------------------------------------

EXPORTS = {
    "contacts": (Contact, ContactFilterSet, ("company", "owner")),
    "companies": (Company, CompanyFilterSet, ("owner",)),
    "deals": (Deal, DealFilterSet, ("company", "contact", "owner", "stage")),
    "activities": (Activity, ActivityFilterSet, ("contact", "company", "deal", "actor")),
}


def _filtered(request, kind: str):
    model, filterset_class, related = EXPORTS[kind]
    queryset = model.objects.visible_to(request.user).select_related(*related)
    filterset = filterset_class(request.GET, queryset=queryset, request=request)
    if not filterset.is_valid():
        return None
    return filterset.qs


@require_GET
@login_required
def export(request, kind: str, fmt: str):
    if kind not in EXPORTS or fmt not in ("csv", "xlsx", "vcf") or (fmt == "vcf" and kind != "contacts"):
        raise Http404
    queryset = _filtered(request, kind)
    if queryset is None:
        return HttpResponse(
            gettext("A filter value is not valid: correct the filters on the list and export again."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    if fmt == "vcf":
        return exporting.vcard_response(queryset)
    if fmt == "xlsx":
        return exporting.xlsx_response(kind, queryset, kind)
    return exporting.csv_response(kind, queryset, kind)


# Duplicates and merge ----------------------------------------------------------


@login_required
def duplicates(request):
    pairs = duplicate_pairs(user=request.user)
    company_pairs = company_duplicate_pairs(user=request.user)
    recent = Merge.objects.editable_by(request.user).filter(undone_at__isnull=True)[:10]
    context = {"pairs": pairs, "company_pairs": company_pairs, "recent": recent}
    return render(request, "transfers/duplicates.html", context)


@login_required
def contact_duplicate_check(request):
    """HTMX: a non-blocking warning on the contact form when the contact looks like an existing one."""
    form = DuplicateCheckForm(request.GET)
    if not form.is_valid():
        return HttpResponse(
            gettext("The contact's details could not be checked for duplicates: a value is not valid."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    data = form.cleaned_data
    matches = similar_contacts(
        user=request.user,
        email=data["email"],
        phone=data["phone_raw"],
        name=" ".join(part for part in (data["first_name"], data["last_name"]) if part),
        company_id=data["company"],
    )
    return render(request, "transfers/partials/duplicate_warning.html", {"matches": matches})


@login_required
def merge(request, kind: str):
    if kind not in merging.MODELS:
        raise Http404
    model = merging.MODELS[kind]
    ids = [pk for pk in map(parse_id, request.GET.getlist("ids") + request.POST.getlist("ids")) if pk is not None]
    fields = merging.MERGE_FIELDS[kind]
    # The choices show related records by name (a contact's company): read with the records, not one by one.
    related = [name.removesuffix("_id") for name in fields if name.endswith("_id")]
    records = list(model.objects.editable_by(request.user).select_related(*related).filter(pk__in=ids).order_by("pk"))
    if len(records) < 2 or len(records) != len(set(ids)):
        raise Http404
    error = None
    if request.method == "POST":
        survivor = parse_id(request.POST.get("survivor", ""))
        choices = {name: request.POST.get(f"field_{name}") for name in fields}
        if survivor is not None:
            try:
                done = services.merge_records(
                    by=request.user,
                    kind=kind,
                    survivor_id=survivor,
                    other_ids=[r.pk for r in records],
                    choices=choices,
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                messages.success(
                    request,
                    gettext("The records were merged. Recent merges can be undone on the possible duplicates page."),
                )
                request.session["transfers_last_merge"] = done.pk
                return redirect(model.objects.get(pk=done.survivor_id).get_absolute_url())
        else:
            error = gettext("Choose the record that stays.")
    rows = []
    # Most recently changed first: its non-empty value is the one preselected.
    recent_first = sorted(records, key=lambda r: (r.updated_at, r.pk), reverse=True)
    for name in fields:
        values = {r.pk: getattr(r, name) for r in records}
        if len({value or None for value in values.values()}) == 1:
            continue  # the same everywhere: nothing to choose (the survivor keeps it)
        chosen = next((r.pk for r in recent_first if values[r.pk]), recent_first[0].pk)
        label = model._meta.get_field(name.removesuffix("_id")).verbose_name
        rows.append(
            {
                "name": name,
                "label": label,
                "options": [
                    {"pk": r.pk, "value": getattr(r, name.removesuffix("_id")) or "", "chosen": r.pk == chosen}
                    for r in records
                ],
            }
        )
    recent = Merge.objects.visible_to(request.user).filter(kind=kind, undone_at__isnull=True)[:5]
    return render(
        request,
        "transfers/merge.html",
        {"kind": kind, "records": records, "rows": rows, "error": error, "recent": recent},
        status=400 if error else 200,
    )


@require_POST
@login_required
def merge_undo(request, pk: int):
    merge_record = get_object_or_404(Merge.objects.editable_by(request.user), pk=pk)
    try:
        services.merge_undo(merge=merge_record, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, gettext("The merge was undone."))
    return redirect("transfers:duplicates")
