"""A small client for Safaricom Daraja's STK push (Lipa na M-Pesa Online).

Base URL and credentials come from settings (MPESA_*). Daraja's documented shapes: an OAuth token
from /oauth/v1/generate, then POST /mpesa/stkpush/v1/processrequest with the shortcode, a password
of base64(shortcode + passkey + timestamp) and the callback URL.
"""

import base64
import json
import urllib.error
import urllib.request
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings


class DarajaError(Exception):
    """Daraja refused or could not be reached; the message says which."""


class DarajaClient:
    def __init__(self, *, base_url, consumer_key, consumer_secret, passkey, timeout=15):
        self.base_url = base_url.rstrip("/")
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.passkey = passkey
        self.timeout = timeout

    @classmethod
    def from_settings(cls):
        return cls(
            base_url=settings.MPESA_BASE_URL,
            consumer_key=settings.MPESA_CONSUMER_KEY,
            consumer_secret=settings.MPESA_CONSUMER_SECRET,
            passkey=settings.MPESA_PASSKEY,
        )

    def _call(self, request):
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode() or "{}")
        except urllib.error.HTTPError as exc:
            body = exc.read().decode(errors="replace")[:300]
            raise DarajaError(f"M-Pesa answered {exc.code}: {body}") from exc
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise DarajaError(f"M-Pesa could not be reached: {exc}") from exc

    def access_token(self):
        credentials = base64.b64encode(f"{self.consumer_key}:{self.consumer_secret}".encode()).decode()
        request = urllib.request.Request(
            f"{self.base_url}/oauth/v1/generate?grant_type=client_credentials",
            headers={"Authorization": f"Basic {credentials}"},
        )
        token = self._call(request).get("access_token")
        if not token:
            raise DarajaError("M-Pesa returned no access token.")
        return token

    def stk_push(self, *, shortcode, phone_number, amount, account_reference, description, callback_url):
        """Prompt the phone to pay `amount` (whole shillings); returns Daraja's answer."""
        timestamp = datetime.now(ZoneInfo("Africa/Nairobi")).strftime("%Y%m%d%H%M%S")
        password = base64.b64encode(f"{shortcode}{self.passkey}{timestamp}".encode()).decode()
        msisdn = phone_number.lstrip("+")
        body = {
            "BusinessShortCode": shortcode,
            "Password": password,
            "Timestamp": timestamp,
            "TransactionType": "CustomerPayBillOnline",
            "Amount": int(amount),
            "PartyA": msisdn,
            "PartyB": shortcode,
            "PhoneNumber": msisdn,
            "CallBackURL": callback_url,
            "AccountReference": account_reference[:12],
            "TransactionDesc": description[:13],
        }
        request = urllib.request.Request(
            f"{self.base_url}/mpesa/stkpush/v1/processrequest",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {self.access_token()}", "Content-Type": "application/json"},
        )
        answer = self._call(request)
        if str(answer.get("ResponseCode")) != "0" or not answer.get("CheckoutRequestID"):
            raise DarajaError(
                answer.get("errorMessage") or answer.get("ResponseDescription") or "M-Pesa refused the request."
            )
        return answer
