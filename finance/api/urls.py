from django.urls import include, path
from rest_framework.routers import SimpleRouter

from finance.api.views import books, cycles, dues, ledger, loans, mpesa, rosca, savings
from finance.models import MpesaReceipt

# Under /api/v1/chamas/{chama_id}/.
router = SimpleRouter()
router.register("my/accounts", savings.MyAccountViewSet, basename="my-account")
router.register("accounts", savings.AccountViewSet, basename="chama-account")
router.register("savings-types", savings.SavingsTypeViewSet, basename="chama-savings-type")
router.register("mpesa-receipts", mpesa.MpesaReceiptViewSet, basename="chama-mpesa-receipt")
router.register("my/dues", dues.MyDueViewSet, basename="my-due")
router.register("my/journals", savings.MyJournalViewSet, basename="my-journal")
router.register("my/stk-push", mpesa.StkPushViewSet, basename="my-stk-push")
router.register("dues", dues.DueViewSet, basename="chama-due")
router.register("waivers", dues.WaiverViewSet, basename="chama-waiver")
router.register("journals", ledger.JournalViewSet, basename="chama-journal")
router.register("backdating-approvals", ledger.BackdatingApprovalViewSet, basename="chama-backdating-approval")
router.register("payments", dues.PaymentViewSet, basename="chama-payment")
router.register("deposits", savings.DepositViewSet, basename="chama-deposit")
router.register("share-purchases", savings.SharePurchaseViewSet, basename="chama-share-purchase")
router.register("expenses", books.ExpenseViewSet, basename="chama-expense")
router.register("income", books.IncomeViewSet, basename="chama-income")
router.register("withdrawals", savings.WithdrawalViewSet, basename="chama-withdrawal")
router.register("trial-balance", ledger.TrialBalanceViewSet, basename="chama-trial-balance")
router.register("loan-products", loans.LoanProductViewSet, basename="chama-loan-product")
router.register("loans", loans.LoanViewSet, basename="chama-loan")
router.register("guarantees", loans.GuaranteeViewSet, basename="my-guarantee")
router.register("loan-portfolio", loans.LoanPortfolioViewSet, basename="chama-loan-portfolio")
router.register("rosca-cycles", rosca.RoscaCycleViewSet, basename="chama-rosca-cycle")
router.register("rosca-payouts", rosca.RoscaPayoutViewSet, basename="chama-rosca-payout")
router.register("rosca-changes", rosca.RosterChangeViewSet, basename="chama-rosca-change")
router.register("rosca-exits", rosca.RoscaExitViewSet, basename="chama-rosca-exit")
router.register("savings-cycles", cycles.SavingsCycleViewSet, basename="chama-savings-cycle")
router.register("share-outs", cycles.ShareOutViewSet, basename="chama-share-out")

urlpatterns = [
    path("chamas/<int:chama_id>/", include(router.urls)),
    path(
        "chamas/<int:chama_id>/mpesa/c2b/<str:secret>/",
        mpesa.MpesaCallbackView.as_view(source=MpesaReceipt.Source.C2B),
        name="mpesa-c2b-callback",
    ),
    path(
        "chamas/<int:chama_id>/mpesa/stk/<str:secret>/",
        mpesa.MpesaCallbackView.as_view(source=MpesaReceipt.Source.STK),
        name="mpesa-stk-callback",
    ),
    # The addresses that carried the secret in the query string (and so in access logs) answer 404 with a pointer.
    path("chamas/<int:chama_id>/mpesa/c2b/", mpesa.MpesaRetiredCallbackView.as_view()),
    path("chamas/<int:chama_id>/mpesa/stk/", mpesa.MpesaRetiredCallbackView.as_view()),
]
