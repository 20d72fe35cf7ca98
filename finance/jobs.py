"""Finance's periodic jobs, registered with the schedule (`chama.jobs`) from FinanceConfig.ready()."""

from __future__ import annotations

from chama import jobs
from finance.services.dues import apply_penalties, generate_dues
from finance.services.loans import update_arrears
from finance.services.rosca import send_round_reminders
from groups.models import Chama


def raise_dues(chama: Chama) -> str:
    report = generate_dues(period=chama.today(), chama=chama)
    return f"{sum(row[3] for row in report)} due(s) raised"


def charge_late_fines(chama: Chama) -> str:
    report = apply_penalties(chama=chama)
    return f"{sum(len(fines) for _, fines in report)} fine(s) charged"


def classify_loans(chama: Chama) -> str:
    return f"{len(update_arrears(chama=chama))} outstanding loan(s) classified"


def remind_rounds(chama: Chama) -> str:
    return f"{send_round_reminders(chama=chama)} merry-go-round reminder(s) sent"


def register() -> None:
    jobs.register("generate_dues", raise_dues)
    jobs.register("apply_penalties", charge_late_fines)
    jobs.register("update_loan_arrears", classify_loans)
    jobs.register("send_rosca_reminders", remind_rounds)
