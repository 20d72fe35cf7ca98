from django.urls import include, path
from rest_framework.routers import SimpleRouter

from finance.api import views
from finance.models import MpesaReceipt

# Under /api/v1/chamas/{chama_id}/.
router = SimpleRouter()
router.register("my/accounts", views.MyAccountViewSet, basename="my-account")
router.register("my/dues", views.MyDueViewSet, basename="my-due")
router.register("my/journals", views.MyJournalViewSet, basename="my-journal")
router.register("my/stk-push", views.StkPushViewSet, basename="my-stk-push")
router.register("dues", views.DueViewSet, basename="chama-due")
router.register("waivers", views.WaiverViewSet, basename="chama-waiver")
router.register("journals", views.JournalViewSet, basename="chama-journal")
router.register("backdating-approvals", views.BackdatingApprovalViewSet, basename="chama-backdating-approval")
router.register("payments", views.PaymentViewSet, basename="chama-payment")
router.register("deposits", views.DepositViewSet, basename="chama-deposit")
router.register("share-purchases", views.SharePurchaseViewSet, basename="chama-share-purchase")
router.register("expenses", views.ExpenseViewSet, basename="chama-expense")
router.register("income", views.IncomeViewSet, basename="chama-income")
router.register("withdrawals", views.WithdrawalViewSet, basename="chama-withdrawal")
router.register("trial-balance", views.TrialBalanceViewSet, basename="chama-trial-balance")
router.register("loan-products", views.LoanProductViewSet, basename="chama-loan-product")
router.register("loans", views.LoanViewSet, basename="chama-loan")
router.register("guarantees", views.GuaranteeViewSet, basename="my-guarantee")
router.register("loan-portfolio", views.LoanPortfolioViewSet, basename="chama-loan-portfolio")

urlpatterns = [
    path("chamas/<int:chama_id>/", include(router.urls)),
    path("chamas/<int:chama_id>/mpesa/c2b/<str:secret>/", views.MpesaCallbackView.as_view(source=MpesaReceipt.Source.C2B),
         name="mpesa-c2b-callback"),
    path("chamas/<int:chama_id>/mpesa/stk/<str:secret>/", views.MpesaCallbackView.as_view(source=MpesaReceipt.Source.STK),
         name="mpesa-stk-callback"),
    # The addresses that carried the secret in the query string (and so in access logs) answer 404 with a pointer.
    path("chamas/<int:chama_id>/mpesa/c2b/", views.MpesaRetiredCallbackView.as_view()),
    path("chamas/<int:chama_id>/mpesa/stk/", views.MpesaRetiredCallbackView.as_view()),
]
