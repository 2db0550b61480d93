"""The mixes the shift data draws from: places, names, weights of request fields and of
outcomes, and the hour-of-day and weekday arrival profile.

Plausible for a Scottish police and mental-health triage service, not official figures.
"""

from __future__ import annotations

# area: (weight, lat, lon, typical places)
AREAS: dict[str, tuple[float, float, float, tuple[str, ...]]] = {
    "Glasgow City Centre": (
        14,
        55.861,
        -4.251,
        (
            "Buchanan Bus Station",
            "Central Station concourse",
            "George Square",
            "Clyde Walkway near the Squinty Bridge",
            "Argyle Street, outside a shop",
        ),
    ),
    "Glasgow East End": (6, 55.850, -4.205, ("Parkhead Forge car park", "Tollcross Park")),
    "Glasgow Govan": (4, 55.862, -4.312, ("Govan Cross subway", "Elder Park")),
    "Edinburgh City Centre": (
        9,
        55.953,
        -3.189,
        ("Waverley Station", "North Bridge", "Princes Street Gardens", "The Meadows"),
    ),
    "Edinburgh Leith": (6, 55.975, -3.170, ("The Shore", "Leith Walk", "Ocean Terminal")),
    "Edinburgh Wester Hailes": (3, 55.916, -3.284, ("Wester Hailes station", "Union Canal")),
    "Dundee City Centre": (6, 56.462, -2.970, ("Tay Road Bridge walkway", "Overgate Centre")),
    "Dundee Lochee": (2, 56.470, -3.010, ("Lochee High Street",)),
    "Aberdeen City Centre": (6, 57.149, -2.094, ("Union Street", "Aberdeen beach esplanade")),
    "Aberdeen Torry": (2, 57.135, -2.090, ("Victoria Bridge",)),
    "Inverness": (4, 57.478, -4.224, ("Ness Islands", "Inverness bus station")),
    "Paisley": (4, 55.846, -4.423, ("Paisley Gilmour Street station", "White Cart riverside")),
    "Kilmarnock": (3, 55.611, -4.495, ("Kilmarnock bus station",)),
    "Motherwell": (3, 55.789, -3.991, ("Motherwell Civic Centre",)),
    "Falkirk": (3, 56.001, -3.784, ("Falkirk High station", "Callendar Park")),
    "Stirling": (2, 56.117, -3.936, ("Stirling bus station", "Old Stirling Bridge")),
    "Perth": (2, 56.396, -3.437, ("Perth bridge over the Tay", "North Inch")),
    "Ayr": (2, 55.458, -4.629, ("Ayr beach", "Ayr station")),
    "Dumfries": (2, 55.070, -3.605, ("Whitesands", "Dumfries station")),
    "Kirkcaldy": (2, 56.111, -3.159, ("Kirkcaldy promenade",)),
    "Livingston": (2, 55.886, -3.523, ("The Centre, Livingston",)),
    "Greenock": (2, 55.948, -4.764, ("Greenock Esplanade",)),
    "Fort William": (1, 56.819, -5.105, ("Fort William High Street",)),
    "Elgin": (1, 57.649, -3.318, ("Elgin Cathedral grounds",)),
    "Stornoway": (0.5, 58.209, -6.389, ("Stornoway harbour",)),
    "Lerwick": (0.5, 60.155, -1.145, ("Lerwick harbour",)),
}
COMMON_PLACES = (
    "Private address",
    "Supermarket car park",
    "Bus stop",
    "Railway platform",
    "Outside a pub",
    "Bridge parapet",
    "Block of flats, stairwell",
    "A&E entrance",
)
PLACES_OF_SAFETY = {
    "Glasgow": ("Gartnavel Royal Hospital", "1055 Great Western Road, Glasgow G12 0XH"),
    "Edinburgh": ("Royal Edinburgh Hospital", "Morningside Terrace, Edinburgh EH10 5HF"),
    "Dundee": ("Carseview Centre", "4 Tom McDonald Avenue, Dundee DD2 1NH"),
    "Aberdeen": ("Royal Cornhill Hospital", "26 Cornhill Road, Aberdeen AB25 2ZH"),
    "Inverness": ("New Craigs Hospital", "6-16 Leachkin Road, Inverness IV3 8NP"),
    "Paisley": ("Dykebar Hospital", "Grahamston Road, Paisley PA2 7DE"),
}
DEFAULT_PLACE_OF_SAFETY = ("Forth Valley Royal Hospital", "Stirling Road, Larbert FK5 4WR")

OFFICER_NAMES = (
    "Ross Campbell",
    "Eilidh MacDonald",
    "Calum Fraser",
    "Morag Stewart",
    "Iain Robertson",
    "Kirsty Murray",
    "Euan Thomson",
    "Shona Reid",
    "Fraser Scott",
    "Catriona Ross",
    "Hamish Paterson",
    "Isla Watson",
    "Duncan Kerr",
    "Mhairi Ferguson",
    "Alasdair Grant",
    "Fiona Mackay",
)
CLINICIAN_NAMES = (
    "Aileen MacLeod",
    "Graeme Duncan",
    "Lorna Sinclair",
    "Neil Hamilton",
    "Jenna Wallace",
    "Stuart Cameron",
    "Rhona Buchanan",
    "Kenny Boyle",
)

AGE_BANDS = {
    "under_16": 4,
    "16_17": 5,
    "18_25": 22,
    "26_40": 33,
    "41_64": 28,
    "65_plus": 5,
    "unknown": 3,
}
SEXES = {"male": 52, "female": 45, "other": 1, "unknown": 2}
CONCERNS = {
    "distress": 55,
    "suicidal_thoughts": 40,
    "intoxication": 30,
    "self_harm": 20,
    "psychosis": 12,
    "aggression": 10,
    "confusion": 8,
    "other": 5,
}
URGENCIES = {"immediate": 15, "urgent": 50, "routine": 35}
MODES = {"video": 60, "audio": 28, "text": 12}
NOTES = (
    "Found sitting on the wall, says they cannot go on. Calm with officers.",
    "Called in by a member of the public. Crying, will not give a surname.",
    "Known to local services; stopped medication two weeks ago.",
    "Has had a few drinks, talking about a break-up and money worries.",
    "Hearing voices telling them they are being followed. Frightened, not aggressive.",
    "Elderly, confused about where they live. No obvious injury.",
    "Superficial cuts to forearm, first aid given. Agreed to speak to someone.",
    "Shouting in the street earlier, settled now in the back of the car.",
)

# disposition: (weight, {triage code: weight})
DISPOSITIONS: dict[str, tuple[float, dict[str, float]]] = {
    "resolved_on_scene": (34, {"D": 2, "E": 5, "G": 3}),
    "dbi_referral": (14, {"C": 2, "D": 5, "E": 3}),
    "non_urgent_referral": (12, {"D": 3, "E": 4, "F": 3}),
    "urgent_face_to_face": (9, {"B": 35, "C": 65}),
    "advice_only": (8, {"F": 3, "G": 7}),
    "emergency_department": (7, {"B": 6, "C": 4}),
    "nhs24_mh_hub": (5, {"D": 4, "E": 6}),
    "criminal_justice": (2.5, {"F": 1}),
    "informal_admission": (2, {"B": 1, "C": 1}),
    "place_of_safety_s297": (2, {"B": 1}),
    "not_completed": (1.5, {"D": 1, "E": 1}),
    "emergency_services": (1.5, {"A": 1}),
    "medical_examination_detention": (1, {"B": 1}),
}
CONVEYANCE = {
    "emergency_department": {"ambulance": 55, "police": 40, "other": 5},
    "place_of_safety_s297": {"police": 85, "ambulance": 15},
    "informal_admission": {"ambulance": 40, "other": 40, "police": 20},
    "medical_examination_detention": {"police": 70, "ambulance": 30},
    "emergency_services": {"ambulance": 1},
    "criminal_justice": {"police": 1},
}
RISK_BY_CODE = {
    "A": ("high", "moderate"),
    "B": ("high", "low"),
    "C": ("moderate", "low"),
    "D": ("moderate", "none"),
    "E": ("low", "none"),
    "F": ("low", "none"),
    "G": ("none", "none"),
}
ADVICE = {
    "resolved_on_scene": "Safety plan agreed; they are going home with a friend. You can leave.",
    "dbi_referral": "DBI practitioner will phone within 24 hours. Leave the DBI card with them.",
    "non_urgent_referral": "Referred to their GP/CMHT. Give them the Breathing Space number.",
    "urgent_face_to_face": "Crisis team will visit. Stay until they arrive or the plan starts.",
    "advice_only": "No mental-health follow-up needed. Signpost to local support.",
    "emergency_department": "Take them to A&E; the liaison psychiatry team has been told.",
    "nhs24_mh_hub": "Passed to the NHS 24 Mental Health Hub, who will call them back.",
    "criminal_justice": "Continue with the criminal justice process; custody nurse informed.",
    "informal_admission": "Informal admission agreed; ward expects them within the hour.",
    "place_of_safety_s297": "s297 removal to a place of safety for a medical examination.",
    "not_completed": "Call lost before the assessment finished. Phone the hub if needed.",
    "emergency_services": "Emergency: ambulance called. Keep them safe until it arrives.",
    "medical_examination_detention": "Doctor attending to examine for emergency detention.",
}


# Arrivals per hour of day relative to the mean: evenings and nights are busiest.
HOURLY_PROFILE = (
    1.3,
    1.2,
    1.0,
    0.8,
    0.6,
    0.4,
    0.3,
    0.3,
    0.4,
    0.5,
    0.6,
    0.7,
    0.8,
    0.8,
    0.9,
    1.0,
    1.1,
    1.3,
    1.5,
    1.6,
    1.7,
    1.7,
    1.6,
    1.5,
)
WEEKDAY_FACTOR = (0.9, 0.9, 0.95, 1.0, 1.2, 1.25, 1.0)  # Monday .. Sunday
