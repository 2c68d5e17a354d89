"""Name and value banks the generator draws from: fictional companies, people, deals and files.

Everything here is made up; banks are tuples so a seeded ``random.Random`` draws the same values on
every machine.
"""

from __future__ import annotations

COMPANY_STEMS: tuple[str, ...] = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka", "Tyrell",
    "Cyberdyne", "Soylent", "Massive", "Aperture", "Oscorp", "Gringotts", "Monarch", "Pied Piper",
    "Dunder", "Sterling", "Nakatomi", "Virtucon", "Octan", "Zorin", "Prestige", "Blue Sun", "Rekall",
    "Wernham", "Kramerica", "Bluth", "Cogswell", "Spacely", "Duff", "Krusty", "Gekko", "Bushwood",
    "Northwind", "Contoso", "Fabrikam", "Litware", "Tailspin", "Woodgrove", "Adatum", "Proseware",
    "Lucerne", "Margie", "Alpine", "Coho", "Fourth Coffee", "Humongous", "Trey", "Wingtip", "Relecloud",
    "Bellows", "Halcyon", "Meridian", "Quantum", "Redwood", "Silverline", "Summit", "Tidewater", "Vertex",
    "Brightwave", "Cobalt", "Evergreen", "Falcon", "Granite", "Harbor", "Ironclad", "Juniper", "Keystone",
)
COMPANY_SUFFIXES: tuple[str, ...] = (
    "Corporation", "Industries", "Systems", "Labs", "Holdings", "Group", "Partners", "Logistics",
    "Analytics", "Dynamics", "Health", "Energy", "Foods", "Media", "Robotics", "Software", "Capital",
)
INDUSTRIES: tuple[str, ...] = (
    "Technology", "Manufacturing", "Healthcare", "Retail", "Finance", "Energy", "Logistics", "Education",
    "Media", "Hospitality", "Telecommunications", "Biotech", "Construction", "Agriculture", "Insurance",
)
FIRST_NAMES: tuple[str, ...] = (
    "Ada", "Alan", "Grace", "Linus", "Priya", "Mateo", "Aisha", "Kenji", "Sofia", "Omar", "Elena", "Jonas",
    "Fatima", "Lucas", "Mei", "Noah", "Amara", "Diego", "Hana", "Ravi", "Chloe", "Tomas", "Zara", "Ivan",
    "Leila", "Marcus", "Nora", "Pedro", "Yuki", "Samir", "Ingrid", "Kofi", "Lena", "Arjun", "Beatriz",
    "Callum", "Daria", "Emeka", "Freya", "Gustavo", "Helena", "Idris", "Julia", "Kai", "Lucia", "Milan",
)
LAST_NAMES: tuple[str, ...] = (
    "Lovelace", "Turing", "Hopper", "Okafor", "Nakamura", "Fernandez", "Patel", "Schmidt", "Rossi",
    "Haddad", "Kowalski", "Lindqvist", "Mensah", "Oliveira", "Park", "Quinn", "Reyes", "Sato", "Tanaka",
    "Ueda", "Vasquez", "Weber", "Xu", "Yilmaz", "Zhang", "Abbott", "Brennan", "Castillo", "Dubois",
    "Eriksen", "Fischer", "Garcia", "Horvat", "Ibrahim", "Jensen", "Kim", "Laurent", "Moreau", "Novak",
)
TITLES: tuple[str, ...] = (
    "VP of Sales", "Head of Procurement", "CFO", "CTO", "Operations Manager", "IT Director",
    "Purchasing Lead", "Chief Revenue Officer", "Account Manager", "Finance Director", "COO",
    "Senior Buyer", "Head of Partnerships", "Product Lead", "Legal Counsel",
)
OWNERS: tuple[str, ...] = (
    "Dana Reyes", "Sam Carter", "Jordan Blake", "Alex Kim", "Morgan Lee", "Riley Chen", "Taylor Brooks",
    "Casey Morgan", "Jamie Fox", "Avery Stone", "Quinn Harper", "Rowan Ellis",
)
DEAL_PRODUCTS: tuple[str, ...] = (
    "Data Platform", "Cloud Migration", "Security Suite", "Analytics Rollout", "Fleet Renewal",
    "ERP Upgrade", "Support Contract", "Pilot Program", "Expansion", "Annual License", "Onboarding Package",
    "Network Refresh", "Training Bundle", "Managed Services", "Warehouse Automation", "CRM Integration",
    "Mobile App Build", "Compliance Audit", "Hardware Refresh", "Consulting Retainer",
)
DEAL_PERIODS: tuple[str, ...] = ("Q1", "Q2", "Q3", "Q4", "2026", "H1", "H2", "FY26", "Phase 2", "EMEA", "APAC")
CLONE_SUFFIXES: tuple[str, ...] = ("Renewal", "Phase 2", "Follow-on", "Copy", "Next Year", "Extension", "Upsell")
STREETS: tuple[str, ...] = (
    "Market Street", "Harbor Road", "Elm Avenue", "King Street", "Industrial Way", "Park Lane",
    "Mill Road", "River Drive", "Station Square", "Oak Boulevard",
)
CITIES: tuple[str, ...] = (
    "Springfield", "Riverton", "Lakeside", "Fairview", "Greenville", "Bristol", "Oakland", "Madison",
    "Georgetown", "Ashford", "Clayton", "Dover",
)
QUOTE_PREFIXES: tuple[str, ...] = ("Q-2026", "QT", "EST", "PRO", "Q-EMEA", "Q-NA", "SALES", "RFQ")
QUOTE_VERSIONS: tuple[str, ...] = ("1.0", "1.1", "2.0", "2.1", "3.0")
FILE_STEMS: tuple[str, ...] = (
    "proposal", "pricing_sheet", "signed_contract", "statement_of_work", "nda", "requirements",
    "meeting_notes", "roi_analysis", "security_review", "product_deck", "invoice_draft", "timeline",
    "technical_spec", "renewal_terms", "case_study",
)
FILE_EXTENSIONS: tuple[str, ...] = ("pdf", "docx", "pptx", "xlsx", "csv", "txt", "doc", "ppt", "key")
BAD_FILE_NAMES: tuple[str, ...] = (
    "site photo.jpg", "contract final!.pdf", "pricing.exe", "scan.png", "notes.zip", "proposal", "deck.PdF",
    "-draft.pdf", "budget sheet.xlsx", "terms?.docx", "diagram.svg", "report.pdf.bak",
)
NOTE_TEXTS: tuple[str, ...] = (
    "Follow up next week about pricing.",
    "Customer asked for a revised discount.",
    "Legal review is in progress.",
    "Decision maker is the CFO; schedule a demo.",
    "Budget approved for next quarter.",
    "Competitor offered a lower price; emphasise support.",
    "Send the updated statement of work by Friday.",
    "Procurement needs two more references.",
    "Kick-off call went well; next step is a technical review.",
    "Renewal risk: usage dropped last month.",
    "Customer prefers quarterly invoicing.",
    "Security questionnaire received; assign to solutions team.",
)
CONTACT_NOTES: tuple[str, ...] = (
    "Prefers e-mail over phone.", "Met at the spring trade show.", "Main technical evaluator.",
    "Signs off on purchases above $50,000.", "Back from leave in March.",
)
COMPANY_TYPES: tuple[str, ...] = ("Partner", "Vendor", "Competitor")
