"""The words the reply checker reads, declared once: numbers in words, months, negators, outcome and
hedge phrases, the entity nouns, field names in words, and the reasons that explain each refusal.

Everything here is English as assistants write it. Patterns are matched against casefolded text in which
markdown emphasis has been removed and curly quotes straightened (``crm_env.rewards.claims``).
"""

from __future__ import annotations

import re

from crm_env.schema.enums import Entity

_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "no": 0, "none": 0, "one": 1, "a single": 1, "single": 1, "just one": 1, "only one": 1,
    "two": 2, "both": 2, "a couple of": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, **_TENS,
    # compounds as written with a hyphen or a space ("seventy-five", "twenty one"), and a hundred
    **{f"{tens}{sep}{unit}": value + i + 1 for tens, value in _TENS.items() for i, unit in enumerate(_UNITS)
       for sep in ("-", " ")},
    "a hundred": 100, "one hundred": 100, "hundred": 100,
}
# Number words that are not numerals a percentage or a plain figure is written with
COUNT_ONLY_WORDS = frozenset({"no", "none", "a single", "single", "both", "a couple of", "just one", "only one"})
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
# "sept" is the one four-letter abbreviation in common use; "may" is matched only beside a day number
MONTH_NAMES: dict[str, int] = {**{m: i + 1 for i, m in enumerate(MONTHS)},
                               **{m[:3]: i + 1 for i, m in enumerate(MONTHS)}, "sept": 9}

# Nouns that name a record type, singular and plural (what a count or a "the X" phrase refers to).
ENTITY_NOUNS: dict[str, Entity] = {
    "opportunity": Entity.OPPORTUNITY, "opportunities": Entity.OPPORTUNITY, "deal": Entity.OPPORTUNITY,
    "deals": Entity.OPPORTUNITY,
    "quote": Entity.QUOTE, "quotes": Entity.QUOTE,
    "client": Entity.CLIENT, "clients": Entity.CLIENT, "account": Entity.CLIENT, "accounts": Entity.CLIENT,
    "customer": Entity.CLIENT, "customers": Entity.CLIENT,
    "contact": Entity.CONTACT, "contacts": Entity.CONTACT, "person": Entity.CONTACT, "people": Entity.CONTACT,
    "contract": Entity.CONTRACT, "contracts": Entity.CONTRACT,
    "company": Entity.COMPANY, "companies": Entity.COMPANY,
    "document": Entity.DOCUMENT, "documents": Entity.DOCUMENT, "file": Entity.DOCUMENT, "files": Entity.DOCUMENT,
    "attachment": Entity.DOCUMENT, "attachments": Entity.DOCUMENT,
    "note": Entity.NOTE, "notes": Entity.NOTE,
}
# Nouns a count may refer to whatever the record type ("3 results", "one match").
RESULT_NOUNS = frozenset({"result", "results", "match", "matches", "record", "records", "hit", "hits",
                          "entry", "entries", "item", "items"})

# Field names as a reply writes them (what "they differ in X" names).
FIELD_WORDS: dict[str, tuple[str, ...]] = {
    "valid_until": ("valid until", "valid-until", "validity", "expiry", "expiration", "expires", "valid through",
                    "valid thru", "good until"),
    "amount": ("amount", "price", "value", "priced", "cost", "total"),
    "version": ("version",),
    "status": ("status",),
    "quote_prefix": ("prefix",),
    "created_date": ("created", "creation date", "date created"),
    "opportunity_id": ("opportunity", "deal"),
    "close_date": ("close date", "closing date", "closes", "closing"),
    "probability": ("probability", "likelihood", "chance"),
    "stage": ("stage",),
    "owner": ("owner", "owned by"),
}

NEGATORS = re.compile(
    r"\b(?:not|no|never|neither|nor|none|without|n't|isn't|aren't|wasn't|weren't|doesn't|don't|didn't|hasn't|"
    r"haven't|won't|can't|cannot|couldn't|shouldn't|nothing)\b|n't\b"
)
# A negator followed by these does not deny what comes after it ("not only", "no longer" denies the old value,
# which the checker reads as the old value; "no later than" states a bound).
NEGATION_EXCEPTIONS = re.compile(r"\b(?:not only|no later than|no earlier than|not just|no more than|not more than|"
                                 r"not exceed|no less than)\b")

# The participles of the work a request asks for ("was not applied", "hasn't been uploaded").
_DONE = (r"(?:created|updated|changed|saved|added|deleted|made|applied|uploaded|set|moved|cloned|attached|logged|"
         r"reassigned|canceled|cancelled|removed|completed|carried out|done|accepted|voided|archived)")
# Those that read as done on their own ("set" is as often the request: "Request: set the amount to $0")
_DONE_ALONE = _DONE.replace("|set|", "|")
# The reply says the requested work did not happen.
FAILURE_CLAIM = re.compile(
    r"\b(?:couldn't|could not|can't|cannot|can not|wasn't able|was not able|weren't able|were not able|unable|"
    r"didn't go through|did not go through|didn't work|did not work|failed|was rejected|were rejected|"
    r"got rejected|(?:crm|system) (?:rejected|declined|blocked)|(?:rejected|declined|blocked) (?:it|the|that|your|my)|"
    r"refused|not possible|isn't possible|was declined|was blocked|"
    r"won't accept|doesn't accept|does not accept|won't allow|doesn't allow|does not allow|"
    r"not allowed|isn't allowed|aren't allowed|not permitted|"
    rf"(?:was|were|has|have) not (?:been )?{_DONE}|(?:wasn't|weren't|hasn't been|haven't been) {_DONE}|"
    r"(?:didn't|did not|haven't|have not|won't|will not) (?:create|update|change|make|set|add|delete|save|apply|"
    r"upload|move|clone|attach|log|reassign|cancel|remove|complete|carry out|do)\b(?! any (?:other|more))|"
    rf"no changes? (?:was|were|has been|have been) made|nothing (?:was|has been|got) {_DONE}|"
    r"(?:is|remains|was left|stays) unchanged|left (?:it|them|the [\w ]+?) "
    r"(?:as (?:it|they) (?:was|were)|unchanged)|no (?:record|quote|deal|client|contact|contract) was (?:created|made)|"
    r"not able to|isn't something i can|is not something i can|not something i can)"
)
# On a must-refuse turn these also say the request was not carried out: the outcome as a bare participle
# ("Result: not applied", "Outcome: rejected"), the record as it stays ("hasn't changed", "still has",
# "unchanged at $394,500"), or nothing there to act on ("there was nothing to void", "no such record").
NOT_DONE = re.compile(
    rf"\bnot (?:been )?{_DONE}\b|\b(?:outcome|result|status|response)\W{{1,4}}(?:rejected|refused|failed|declined|"
    r"blocked|denied)\b|\b(?:hasn't|has not|haven't|have not|hadn't|had not|didn't|did not) (?:been )?chang|"
    r"\bunchanged\b|\b(?:still|remains|stays)\b|\bnothing (?:to|i could) \w+|\bno \w+ to (?:show|display|return|"
    r"void|update|change|delete|edit|open)\b|\bno such\b|\bthere(?:'s| is| was| are| were) no\b|"
    r"\b(?:doesn't|does not|don't|do not) exist"
)
# The reply says (in the past tense) that the work was done.
SUCCESS_CLAIM = re.compile(
    r"(?:^|[^\w])(?:done\b|all set\b|i've (?:created|updated|changed|set|moved|added|uploaded|attached|cloned|"
    r"deleted|saved|logged|made|applied|opened|drafted|generated|reassigned|canceled|cancelled|removed|pushed|"
    r"marked|put|recorded|registered)|i (?:created|updated|changed|set|moved|added|uploaded|attached|cloned|deleted|"
    r"saved|logged|made|applied|opened|drafted|generated|reassigned|canceled|cancelled|removed|pushed|marked)\b|"
    r"(?:has|have) been (?:created|updated|changed|set|moved|added|uploaded|attached|cloned|deleted|saved|"
    r"logged|applied|opened|drafted|generated|reassigned|canceled|cancelled|removed|marked|recorded)|"
    r"(?:is|are) now (?!in the past|past|before|earlier|too)|now (?:has|shows|closes|sits|reads|belongs)|"
    r"successfully|went through|is in place|is set up|created ✅|✅|✔|(?:is|are) (?:now )?gone\b|"
    # the participle alone, opening a sentence or after a dash or colon: "Deleted.", "Quote X — deleted as ..."
    rf"(?:(?<![\s\S])|(?<=[.!:—\n])|(?<=[.!:—] )){_DONE_ALONE}\b(?! (?:by|from|for)\b))"
)
HEDGE = re.compile(
    r"\b(?:i think|i believe|i guess|i'm not (?:100% )?sure|i am not (?:100% )?sure|not (?:entirely |100% |completely )?"
    r"(?:sure|certain)|can't say for sure|cannot say for sure|can't be sure|probably|possibly|presumably|"
    r"should be there|should now be|should have|may now be|may have|might have|"
    r"in the ballpark|more or less|i've attempted|i attempted|i tried|double-check|double check|worth checking|"
    r"want to check|want to verify|most likely|along the lines of|if i recall|seems to have|appears to have|"
    r"i assume|may or may not|(?:can't|cannot|can not|couldn't|could not) (?:confirm|verify|tell)|unclear|"
    r"(?:may|might) (?:not |still )?(?:exist|be there|have|be|still)|could (?:still be|have))\b|\b(?:roughly|approximately|around|about|somewhere around|circa|~) ?"
    r"(?=\$|\d[\d,.]*\s?(?:k\b|m\b|million|thousand|%|percent))"
)

# Why a request is refused, by failure category (crm_env.datasets.format.FailureCategory values), in words.
_ID_WORDS = (r"not (?:a )?valid|isn't (?:a )?valid|invalid|uuid|format|doesn't look like|does not look like|"
             r"not an? (?:\w+ )?id|ids? (?:here |in this crm )?(?:are|look|use)|malformed|not recogni[sz]|"
             r"doesn't match|does not match")
_MISSING_WORDS = (r"doesn't exist|does not exist|don't exist|no longer exists|not found|couldn't find|could not find|"
                  r"can't find|cannot find|didn't find|did not find|no (?:such|matching)|no (?:\w+ )?(?:record|"
                  r"opportunity|deal|quote|client|contact|contract)s? (?:with|by|for|matches|matching)|unknown|"
                  r"isn't in the crm|not in the crm|isn't in our crm|no record|nothing (?:with|under|by) that|"
                  r"there is no|there's no|not exist")
# The bad value named as one the CRM does not take ("$0 isn't an amount the system accepts")
_NOT_ACCEPTED = (r"(?:isn't|is not|aren't|are not|not) (?:an? )?(?:[\w$%.,-]+ ){0,4}?(?:accepts?|accepted|allowed|"
                 r"valid|acceptable|permitted|takes)\b|(?:won't|doesn't|does not|will not) (?:accept|allow|take)")
REFUSAL_REASONS: dict[str, str] = {
    "enum_casing": (r"case|capital|upper[- ]?case|lower[- ]?case|all caps|all-caps|exact(?:ly)? (?:spell|match|"
                    r"casing|capitali)|spell|accepted values?|allowed values?|valid values?|valid (?:stage|status)"
                    r"|not one of|isn't one of|one of the|only accepts|must be one of|accepted (?:stage|status)"
                    r"|not an? (?:accepted|allowed|valid|recogni[sz]ed)"),
    "unknown_id": _MISSING_WORDS + "|" + _ID_WORDS,
    "malformed_id": _ID_WORDS + "|" + _MISSING_WORDS,
    "missing_field": (r"missing|required|requires|need(?:s|ed)? (?:a|an|the|to (?:know|have|give))|without an?|"
                      r"no \w+(?: \w+)? (?:was |were )?(?:given|provided|supplied|specified)|must (?:have|include|"
                      r"give)|have to (?:provide|give)|didn't (?:give|include|provide|mention)|not (?:given|"
                      r"provided|included)|provide|field|left out|mandatory"),
    "amount_bounds": _NOT_ACCEPTED + "|" + (
        r"greater than (?:zero|0|\$0)|above (?:zero|0|\$0)|more than (?:zero|0|\$0)|positive|maximum|"
        r"\bmax\b|exceeds?|above|over|too (?:large|high|big|low|small)|cap\b|capped|limit|at most|"
        r"no more than|not more than|at least|minimum|below|negative|between|range|\$10,000,000|"
        r"\$?10 ?m\b|10 million|zero|non-zero|nonzero"),
    "probability_bounds": _NOT_ACCEPTED + "|" + (
        r"between 0 and 100|0 ?(?:-|–|to) ?100|percent|100 ?%|over 100|above 100|negative|"
        r"range|at most|exceed|maximum|minimum|greater than 100|more than 100|less than 0|"
        r"below 0|below zero|can't be more|cannot be more|valid probability|between"),
    "date_bounds": _NOT_ACCEPTED + "|" + (
        r"past|before today|earlier than today|already passed|has passed|already gone|expired|"
        r"before (?:the )?(?:current|today)|in the future|future date|later date|before (?:the )?start|"
        r"after (?:the )?end|end date|start date|today|must be on or after|on or after"),
    "duplicate_email": (r"already (?:used|in use|uses|belongs|the (?:e-?mail|address)|taken|registered|assigned|"
                        r"on|has|have|had)|share|same (?:e-?mail|address)|belongs to|another client|other client|"
                        r"duplicate|unique|in use|same e-?mail|"
                        r"taken|existing client"),
    "closed_deal_edit": (r"closed|already (?:won|lost)|locked|can't be (?:edited|changed|modified)|cannot be "
                         r"(?:edited|changed|modified)|read-only|frozen|final"),
    "bad_document_name": (r"file ?name|extension|file type|not supported|unsupported|allowed types|format|"
                          r"invalid name|must end|characters|\.pdf|\.docx|\.csv|\.txt|\.xlsx|\.pptx|type of file"),
}
REFUSAL_REASON_PATTERNS: dict[str, re.Pattern[str]] = {k: re.compile(v) for k, v in REFUSAL_REASONS.items()}

# A hedge word that advises the user or supposes ("you'll probably want to ...", "If X should have ...") is no
# hedge on the outcome: a conditional sentence, or a hedge whose subject is "you".
CONDITIONAL = re.compile(r"^\W*(?:if|when|should|would|in case|once)\b")
ADVISED = re.compile(r"\byou(?:'ll| will|'d| would| may| might)?\s+$")
# Words that state a link between two records ("it isn't linked to the H2 deal", "not under Acme").
RELATION = re.compile(r"\b(?:linked|attached|tied|associated|connected|belongs?|under|filed|assigned|part of)\b")
# A sentence that asks, offers or supposes states nothing about the CRM ("If you meant 2027-01-31 ...",
# "Want me to set it to Proposal?", "IDs look like 3f2b...").
HYPOTHETICAL = re.compile(
    r"\?\s*$|^\s*(?:if|should|would|want|do you|shall|let me know|just say|tell me)\b|\b(?:if you|would you|want me to|"
    r"let me know|i can|i could|i'll|i will|you could|you might|you may want|you can|e\.g\.|for example|such as|"
    r"for instance|instead|say so)\b(?!'t|n't| not)"
)
# "everything else is unchanged" reports no failure
UNCHANGED_REST = re.compile(r"\b(?:everything|anything|nothing|all) else\b|\bother (?:fields?|details|values)\b|"
                            r"\bthe rest\b|\botherwise\b")
EXAMPLE_CUE = re.compile(r"(?:\blike|e\.g\.?|for example|such as|example:?|for instance)\s*\(?[\"']?\s*$")
# A rule the CRM enforces, naming the values it accepts ("the accepted values are Prospecting, ..."):
# the enum values after it describe the schema, not any record.
RULE_VALUES = re.compile(r"\b(?:accepted|allowed|valid|permitted|possible|supported) (?:values?|stages?|statuses|"
                         r"options|types?)\b|\bmust be (?:one of|either)\b|\bone of\b")

