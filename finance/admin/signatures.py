"""On a pending item's page: who may still give the second signature."""

from django.contrib import admin

from groups import signatures


class AwaitingSignatureAdmin:
    signature_action = ""
    waiting_status = "pending"

    def signed_by(self, obj):
        return [getattr(obj, "requested_by_id", None) or getattr(obj, "recorded_by_id", None)]

    @admin.display(description="Waiting for a signature from")
    def awaiting_signature(self, obj):
        if obj is None or obj.status != self.waiting_status:
            return "—"
        names = signatures.signer_names(obj, self.signature_action, self.signed_by(obj))
        return ", ".join(names) or "No officer may sign it now: the chama needs another active officer."
