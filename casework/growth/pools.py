"""The pools the grown rows draw from: names, zones, places and texts, and the weights of
each choice, as crisis programmes report their mix."""

from cases.cssrs import RiskLevel
from cases.models import CloseReason, ContactSource, Disposition
from directory.models import NeedCategory
from followups.models import VisitReason
from referrals.models import Status as ReferralStatus
from referrals.models import Urgency

ZONES = ("America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York")
AREA_CODES = ("541", "303", "312", "617")
SERVICES_PER_NEED = 2

# Single words (cases.names.name_tokens), so that a client's phonetic key is the sorted
# sounds of two names, put together in SQL. The group heads of cases.names.NICKNAME_GROUPS
# (William, Elizabeth, ...) may go by a nickname, the preferred name.
# fmt: off
FIRST_NAMES = (
    "William", "Robert", "Richard", "Elizabeth", "Margaret", "Katherine", "James", "John",
    "Joseph", "Michael", "Thomas", "Charles", "Edward", "Anthony", "Daniel", "David", "Steven",
    "Christopher", "Christina", "Alexander", "Alexandra", "Samuel", "Samantha", "Patrick",
    "Patricia", "Jennifer", "Rebecca", "Susan", "Deborah", "Nicholas", "Benjamin", "Matthew",
    "Andrew", "Jessica", "Francisco", "Guadalupe", "Jesús", "Alberto", "Gregory", "Jeffrey",
    "Kenneth", "Ronald", "Donald", "Timothy", "Zachary", "Victoria", "Dorothy", "Abigail",
    "Mary", "Linda", "Barbara", "Sarah", "Karen", "Nancy", "Lisa", "Betty", "Sandra", "Ashley",
    "Kimberly", "Emily", "Donna", "Michelle", "Carol", "Amanda", "Melissa", "Stephanie",
    "Laura", "Sharon", "Cynthia", "Kathleen", "Amy", "Angela", "Shirley", "Anna", "Brenda",
    "Pamela", "Emma", "Nicole", "Helen", "Ruth", "Olivia", "Heather", "Diane", "Julie", "Joyce",
    "Evelyn", "Joan", "Cheryl", "Megan", "Andrea", "Hannah", "Jacqueline", "Martha", "Gloria",
    "Teresa", "Madison", "Frances", "María", "José", "Lucía", "Sofía", "Valentina", "Camila",
    "Ximena", "Itzel", "Juana", "Rosa", "Carmen", "Inés", "Raúl", "Ramón", "Héctor", "Jorge",
    "Luis", "Carlos", "Miguel", "Pedro", "Diego", "Santiago", "Joaquín", "Emilio", "Sergio",
    "Rubén", "Óscar", "Adriana", "Beatriz", "Graciela", "Leticia", "Marisol", "Yolanda", "Minh",
    "Linh", "Thanh", "Huong", "Duc", "Hoa", "Wei", "Jing", "Hiroshi", "Yuki", "Haruto", "Jiho",
    "Minjun", "Seoyeon", "Priya", "Arjun", "Ananya", "Rohan", "Deepa", "Amara", "Chidi",
    "Kwame", "Ngozi", "Abebe", "Tigist", "Fatima", "Omar", "Yusuf", "Aisha", "Layla", "Tariq",
    "Zainab", "Ibrahim", "Søren", "Björn", "Zoë", "Chloé", "Renée", "Noémie", "Aoife",
    "Siobhán", "Niamh", "Lukas", "Jonas", "Greta", "Ingrid", "Dmitri", "Olga", "Anastasia",
    "Brian", "George", "Kevin", "Jason", "Gary", "Larry", "Frank", "Scott", "Eric", "Raymond",
    "Dennis", "Jerry", "Tyler", "Aaron", "Henry", "Adam", "Douglas", "Nathan", "Peter", "Kyle",
    "Walter", "Ethan", "Jeremy", "Harold", "Keith", "Roger", "Noah", "Gerald", "Sean",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodríguez",
    "Martínez", "Hernández", "López", "González", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Pérez", "Thompson", "White", "Harris", "Sánchez",
    "Clark", "Ramírez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyễn", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gómez", "Phillips", "Evans",
    "Turner", "Díaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
    "Morales", "Murphy", "Cook", "Rogers", "Gutiérrez", "Ortiz", "Morgan", "Cooper", "Peterson",
    "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson",
    "Brooks", "Chávez", "Wood", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price",
    "Álvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jiménez",
    "Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler",
    "Henderson", "Barnes", "Fisher", "Vásquez", "Simmons", "Romero", "Patterson", "Hamilton",
    "Graham", "Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes", "Bryant",
    "Herrera", "Gibson", "Ellis", "Tran", "Medina", "Aguilar", "Stevens", "Murray", "Ford",
    "Castro", "Marshall", "Owens", "Harrison", "Fernández", "McDonald", "Woods", "Washington",
    "Kennedy", "Wells", "Vargas", "Chen", "Freeman", "Webb", "Tucker", "Guzmán", "Burns",
    "Crawford", "Olson", "Simpson", "Porter", "Hunter", "Gordon", "Silva", "Shaw", "Snyder",
    "Dixon", "Muñoz", "Hunt", "Hicks", "Holmes", "Palmer", "Wagner", "Black", "Robertson",
    "Boyd", "Rose", "Stone", "Salazar", "Fox", "Warren", "Mills", "Meyer", "Rice", "Schmidt",
    "Garza", "Ferguson", "Nichols", "Soto", "Weaver", "Ryan", "Gardner", "Payne", "Grant",
    "Dunn", "Spencer", "Hawkins", "Arnold", "Pierce", "Hansen", "Santos", "Peña", "O'Brien",
    "Müller", "Okafor", "Nakamura", "Yamamoto", "Singh", "Kowalski", "Novak", "Haddad",
    "Mensah", "Osei", "Abdi", "Núñez", "Søndergaard", "Björklund", "Delgado", "Contreras",
)
# fmt: on
UNIDENTIFIED = (
    "man, about 40, red jacket",
    "woman, about 30, green backpack",
    "older man with a grey beard and a small dog",
    "young person in a blue hoodie, about 20",
)
LOCATIONS = (
    "5th and Main",
    "Riverside park, by the footbridge",
    "Downtown transit centre",
    "Client's home",
    "Public library",
    "Shelter on 2nd Street",
    "Gas station on Highway 99",
    "",
)
NARRATIVES = (
    "Client calm after de-escalation; agreed to a call tomorrow.",
    "Safety plan made with the client and a family member.",
    "Client tearful, then settled; connected with a friend by phone.",
    "Client declined further help today; given the crisis line number.",
    "Met the client with a housing navigator; shelter bed found.",
)
FACILITIES = (
    "Riverbend Medical Center",
    "St. Mary's Hospital",
    "County General Hospital",
    "University Hospital",
)
# (title, method, reason) of a follow-up a worker adds by hand.
ONE_OFFS = (
    ("Check-in call", "phone", "Check in after the crisis contact"),
    ("Welfare visit", "visit", "See how the client is doing at home"),
    ("Safety plan review", "phone", "Go over the safety plan with the client"),
    ("Appointment reminder", "text", "Remind the client of the appointment"),
)
CALL_NATURES = {
    "welfare-check": ("Welfare check", 25),
    "suicidal": ("Suicidal ideation or threat", 12),
    "mental-health-crisis": ("Mental-health crisis", 20),
    "intoxication": ("Intoxication", 10),
    "disorientation": ("Disorientation or confusion", 6),
    "trespass": ("Trespass or disturbance", 7),
    "conflict": ("Conflict or dispute", 8),
    "housing-need": ("Housing or shelter need", 6),
    "transport": ("Transport request", 3),
    "medical": ("Medical need", 2),
    "other": ("Other", 1),
}
CONCERNS = {
    "mental-health": "Mental health",
    "suicide-risk": "Suicide risk or self-harm",
    "substance-use": "Substance use",
    "housing": "Housing or homelessness",
    "domestic-violence": "Domestic violence",
    "medical": "Medical",
    "food": "Food insecurity",
    "financial": "Financial hardship",
    "family-conflict": "Family or relationship conflict",
    "legal": "Legal",
}

# Weights of each choice, as crisis programmes report their mix.
SOURCES = {
    ContactSource.DIVERSION_911: 30,
    ContactSource.LIFELINE_988: 15,
    ContactSource.POLICE_REQUEST: 12,
    ContactSource.SELF: 8,
    ContactSource.MOBILE_CRISIS: 12,
    ContactSource.WALK_IN: 5,
    ContactSource.OUTREACH: 10,
    ContactSource.PHONE: 5,
    ContactSource.HOSPITAL: 2,
    ContactSource.OTHER: 1,
}
DISPOSITIONS = {
    Disposition.RESOLVED_ON_SCENE: 50,
    Disposition.REFERRED: 14,
    Disposition.CRISIS_CENTRE: 6,
    Disposition.SHELTER: 5,
    Disposition.DETOX: 3,
    # About 0.1 ER visits or admissions per case, at 1.6 contacts a case.
    Disposition.EMERGENCY_ROOM: 5,
    Disposition.HOSPITALISED: 1.5,
    Disposition.POLICE_CUSTODY: 2,
    Disposition.DECLINED: 8,
    Disposition.UNABLE_TO_LOCATE: 5.5,
}
RISKS = {
    RiskLevel.NOT_SCREENED: 20,
    RiskLevel.NONE: 30,
    RiskLevel.LOW: 25,
    RiskLevel.MODERATE: 15,
    RiskLevel.HIGH: 10,
}
CLOSE_REASONS = {
    CloseReason.STABILISED: 30,
    CloseReason.CONNECTED: 25,
    CloseReason.DECLINED: 10,
    CloseReason.UNABLE_TO_CONTACT: 15,
    CloseReason.MOVED: 5,
    CloseReason.TRANSFERRED: 8,
    CloseReason.DECEASED: 0.5,
    CloseReason.OPENED_IN_ERROR: 1.5,
    CloseReason.OTHER: 5,
}
VISIT_REASONS = {
    VisitReason.MENTAL_HEALTH: 45,
    VisitReason.SELF_HARM: 20,
    VisitReason.SUBSTANCE_USE: 15,
    VisitReason.OVERDOSE: 8,
    VisitReason.OTHER: 12,
}
NEEDS = {
    NeedCategory.HOUSING: 22,
    NeedCategory.MENTAL_HEALTH: 25,
    NeedCategory.SUBSTANCE_USE: 15,
    NeedCategory.MEDICAL: 8,
    NeedCategory.FOOD: 8,
    NeedCategory.FINANCIAL: 6,
    NeedCategory.EMPLOYMENT: 4,
    NeedCategory.LEGAL: 4,
    NeedCategory.TRANSPORTATION: 3,
    NeedCategory.DOMESTIC_VIOLENCE: 3,
    NeedCategory.OTHER: 2,
}
URGENCIES = {Urgency.ROUTINE: 70, Urgency.URGENT: 20, Urgency.ASAP: 8, Urgency.STAT: 2}
S = ReferralStatus
# Referrals sent in the last week are mostly still moving; older ones mostly ended.
RECENT_REFERRALS = {
    S.REQUESTED: 45,
    S.ACCEPTED: 25,
    S.IN_PROGRESS: 10,
    S.ON_HOLD: 3,
    S.COMPLETED: 5,
    S.REJECTED: 7,
    S.CANCELLED: 3,
    S.FAILED: 2,
}
OLDER_REFERRALS = {
    S.REQUESTED: 4,
    S.ACCEPTED: 5,
    S.IN_PROGRESS: 5,
    S.ON_HOLD: 2,
    S.COMPLETED: 45,
    S.REJECTED: 14,
    S.CANCELLED: 10,
    S.FAILED: 15,
}
