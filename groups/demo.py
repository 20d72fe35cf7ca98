"""The demo chamas' people: a VSLA-style savings-and-loans group and a merry-go-round with
officers and members. Loading is idempotent: people, chamas and memberships are found, not duplicated."""

from datetime import date, time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from chama.models import NotificationPreference
from chama.roles import MembershipStatus, Role
from groups import services
from groups.models import Chama, Membership

DEFAULT_PASSWORD = "Chama-demo-2026"

# (first name, last name, phone number)
PEOPLE = {
    "wanjiku": ("Grace", "Wanjiku", "+254711000101"),
    "otieno": ("Peter", "Otieno", "+254711000102"),
    "mutua": ("Faith", "Mutua", "+254711000103"),
    "kamau": ("John", "Kamau", "+254711000104"),
    "achieng": ("Mary", "Achieng", "+254711000105"),
    "kiprop": ("Daniel", "Kiprop", "+254711000106"),
    "njeri": ("Lucy", "Njeri", "+254711000107"),
    "omondi": ("Kevin", "Omondi", "+254711000108"),
    "chebet": ("Esther", "Chebet", "+254711000109"),
    "mwangi": ("Samuel", "Mwangi", "+254711000110"),
    "atieno": ("Janet", "Atieno", "+254711000111"),
    "kiptoo": ("Brian", "Kiptoo", "+254711000112"),
    "wairimu": ("Ann", "Wairimu", "+254711000113"),
    "nyambura": ("Catherine", "Nyambura", "+254722000201"),
    "odhiambo": ("George", "Odhiambo", "+254722000202"),
    "muthoni": ("Jane", "Muthoni", "+254722000203"),
    "kibet": ("Joseph", "Kibet", "+254722000204"),
    "akinyi": ("Rose", "Akinyi", "+254722000205"),
    "njoroge": ("David", "Njoroge", "+254722000206"),
    "wambui": ("Agnes", "Wambui", "+254722000207"),
    "ouma": ("Michael", "Ouma", "+254722000208"),
    "jepkosgei": ("Sarah", "Jepkosgei", "+254722000209"),
    "karanja": ("Paul", "Karanja", "+254722000210"),
    "moraa": ("Irene", "Moraa", "+254722000211"),
    "barasa": ("Tom", "Barasa", "+254722000212"),
}

CHAMAS = [
    {
        "registration_number": "DSD/NRB/2021/0412",
        "name": "Umoja Savings & Loans Group",
        "kind": Chama.Kind.VSLA,
        "category": Chama.Category.SAVINGS,
        "description": "Weekly VSLA of market traders in Gikomba: shares at KES 200, a KES 50 social fund, loans at 10% a month.",
        "policy": {
            # The weekly social (welfare) fund; savings are shares bought at each meeting.
            "contribution_amount": Decimal("50.00"),
            "contribution_frequency": "weekly",
            "contribution_due_day": 6,
            "grace_days": 2,
            "late_fine_amount": Decimal("20.00"),
            "share_price": Decimal("200.00"),
            "shares_min_per_meeting": 1,
            "shares_max_per_meeting": 5,
            "paybill_remainder": "shares",  # what an M-Pesa payment leaves after the social fund buys shares
            "loan_interest_rate": Decimal("10"),
            "loan_interest_period": "month",
            "loan_max_savings_multiple": Decimal("3"),
            "second_approval_threshold": Decimal("20000.00"),
            "meeting_frequency": "weekly",
            "meeting_day": 6,
            "meeting_time": time(14, 0),
            "absence_fine_amount": Decimal("50.00"),
            "lateness_fine_amount": Decimal("20.00"),
        },
        "officers": {Role.CHAIRPERSON: "wanjiku", Role.TREASURER: "otieno", Role.SECRETARY: "mutua"},
        "members": ["kamau", "achieng", "kiprop", "njeri", "omondi", "chebet", "mwangi", "atieno", "kiptoo", "wairimu"],
    },
    {
        "registration_number": "DSD/KSM/2022/1187",
        "name": "Tujenge Merry-Go-Round",
        "kind": Chama.Kind.ROSCA,
        "category": Chama.Category.SAVINGS,
        "description": "Monthly merry-go-round: each member pays KES 2,000 by the 5th; one member takes the pot.",
        "policy": {
            "contribution_amount": Decimal("2000.00"),
            "contribution_frequency": "monthly",
            "contribution_due_day": 5,
            "grace_days": 3,
            "late_fine_amount": Decimal("200.00"),
            "loan_max_concurrent": 0,
            "second_approval_threshold": Decimal("10000.00"),
            "meeting_frequency": "monthly",
            "meeting_day": 5,
            "meeting_time": time(17, 30),
            "vote_pass_threshold": "two_thirds",
        },
        "officers": {Role.CHAIRPERSON: "nyambura", Role.TREASURER: "odhiambo", Role.SECRETARY: "muthoni"},
        # Peter Otieno, Umoja's treasurer, is a plain member here.
        "members": [
            "kibet",
            "akinyi",
            "njoroge",
            "wambui",
            "ouma",
            "jepkosgei",
            "karanja",
            "moraa",
            "barasa",
            "otieno",
        ],
    },
]


FOUNDED = date(2026, 1, 15)


def person(first_name, last_name, phone_number, password_hash):
    User = get_user_model()
    user = User.objects.filter(phone_number=phone_number).first()
    if user is None:
        user = User(
            phone_number=phone_number,
            first_name=first_name,
            last_name=last_name,
            email=f"{first_name}.{last_name}@example.co.ke".lower(),
        )
    user.password = password_hash
    user.save()
    # Demo people have made-up emails and phone numbers: they get in-app notifications only.
    NotificationPreference.objects.update_or_create(user=user, defaults={"email": False, "sms": False})
    return user


def load_chama(spec, people, password):
    """The chama of `spec` with its officers and members; returns (chama, logins)."""
    chama = Chama.objects.filter(registration_number=spec["registration_number"]).first()
    if chama is None:
        chama = services.chama_create(
            name=spec["name"],
            kind=spec["kind"],
            category=spec["category"],
            status=Chama.Status.ACTIVE,
            registration_number=spec["registration_number"],
            description=spec["description"],
            policy=spec["policy"],
            founded_date=FOUNDED,
        )
    wanted = [(role, key) for role, key in spec["officers"].items()] + [(Role.MEMBER, key) for key in spec["members"]]
    logins = []
    for role, key in wanted:
        user = people[key]
        membership = Membership.objects.filter(chama=chama, user=user).first()
        if membership is None or membership.status != MembershipStatus.ACTIVE:
            services.admit_member(chama=chama, user=user, role=role, joined_date=FOUNDED)
        logins.append(
            {"role": str(role), "name": user.get_full_name(), "username": str(user.phone_number), "password": password}
        )
    return chama, logins


def load(password):
    """Every demo person and chama: [(chama, logins)]."""
    password_hash = make_password(password)  # hashed once: every demo login shares the password
    people = {key: person(*details, password_hash) for key, details in PEOPLE.items()}
    return [load_chama(spec, people, password) for spec in CHAMAS]
