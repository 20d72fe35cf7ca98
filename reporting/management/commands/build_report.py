from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from chama import authority, downloads
from chama.models import User
from groups.commands import ChamaCommand
from reporting import catalogue, generation
from reporting.models import GeneratedReport

# The option that gives each of a report's parameters (for the error messages).
OPTION_OF = {"as_of": "as-of", "membership": "member"}


class Command(ChamaCommand):
    help = (
        "Build a report of a chama now and keep it for download (as asked through the API or the back office), "
        "telling its progress; or, with --pending, build every report still waiting in the queue."
    )
    dry_run_help = None

    def add_options(self, parser):
        parser.add_argument("--report", choices=list(catalogue.REPORTS), help="Which report.")
        parser.add_argument("--format", choices=catalogue.FORMATS, default="pdf", help="pdf (default), xlsx or csv.")
        parser.add_argument("--by", help="The phone number of the person asking (an officer who reads the books).")
        parser.add_argument("--as-of", help="The day, YYYY-MM-DD (default today).")
        parser.add_argument("--start", help="The period's first day, YYYY-MM-DD (default 1 January).")
        parser.add_argument("--end", help="The period's last day, YYYY-MM-DD (default today).")
        parser.add_argument("--channel", help="The cash book's channel: cash (default), bank or mpesa.")
        parser.add_argument("--member", type=int, help="The membership id (member-statement).")
        parser.add_argument("--cycle", type=int, help="The closed savings cycle's id (share-out).")
        parser.add_argument("--pending", action="store_true", help="Build every report waiting in the queue instead.")

    def work(self, *, chama, dry_run, pending=False, report=None, by=None, **options):
        if pending:
            return [row for report_id in generation.pending() if (row := generation.build(report_id)) is not None]
        if chama is None or report is None or by is None:
            raise CommandError("Say --chama, --report and --by (or --pending).")
        asker = User.objects.filter(phone_number=by, is_active=True).first()
        if asker is None:
            raise CommandError(f"No active person has the phone number {by}.")
        parameters = {
            "as_of": options["as_of"],
            "start": options["start"],
            "end": options["end"],
            "channel": options["channel"],
            "membership": options["member"],
            "cycle": options["cycle"],
        }
        try:
            row = generation.request_report(
                chama=chama, report=report, format=options["format"], parameters=parameters, by=asker, queue=False
            )
        except authority.Refused as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError(
                " ".join(
                    f"--{OPTION_OF.get(name, name)}: {' '.join(errors)}" for name, errors in exc.message_dict.items()
                )
            ) from None
        built = generation.build(row.pk, progress=self.progress)
        return [built] if built is not None else []

    def report_lines(self, report):
        for row in report:
            if row.status == GeneratedReport.Status.READY:
                yield f"Report #{row.pk} ({row.report}, {row.format}): {row.size} bytes, at {downloads.url_for(row, 'file')}"
            else:
                yield f"Report #{row.pk} ({row.report}) failed: {row.error}"

    def summary(self, report):
        failed = sum(row.status == GeneratedReport.Status.FAILED for row in report)
        if failed:
            raise CommandError(f"{failed} of {len(report)} report(s) failed to build.")
        return f"{len(report)} report(s) built."
