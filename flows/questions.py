"""Read questions in people's own words, requests for a ride, and hellos, in English and Spanish.

Pure, like the rest of `flows`. Each topic is a list of concept patterns over a normalised text
(lowercase ASCII, no punctuation): "will i get arrested", "me van a arrestar", "is it free",
"cuanto cuesta". A topic's answer is the catalog text `info.<topic>`; the flow answers only the
topics it has a text for (flows/intake.py), so a topic listed here waits until its text exists.
"""

import re

# Checked in this order: the first topic that matches answers ("tengo una orden de arresto" is
# about a warrant, not about being arrested; "how much longer" is about waiting, not cost).
TOPICS: dict[str, tuple[str, ...]] = {
    "warrants": (
        r"warrants?|warrent[a-z]*|warrant[a-z]*",
        r"orden(?:es)? de (?:arresto|captura|aprehension|detencion)|(?:tengo|tienen"
        r"|hay) (?:una )?orden(?:es)?",
    ),
    "arrest": (
        r"arrest[a-z]*|jail|prison|lock(?:ed)? (?:me )?up|lock me up|charged|charges|press charges",
        r"(?:get|be|am i|in) (?:in )?trouble|busted|a trap|setup|set up|sting|criminal record|my record",
        r"arrest[a-z]*|carcel|deten(?:er|ido|ida|gan|erme)|me (?:van a |pueden )?(?:meter|llevar) pres[oa]"
        r"|preso|presa|encerr[a-z]*|cargos|problemas con la (?:ley|policia)|una trampa",
        r"(?:police|cops|they|officers?|you|yall|u) (?:charge|book|cuff|take) me|(?:possession|drug|criminal"
        r"|new|any) charges?|legal|illegal|against the law|(?:es|sera) legal|ilegal",
        r"(?:me|nos) (?:van a|pueden|va a) (?:echar|llamar) (?:a )?la policia|lio con la policia",
    ),
    "cost": (
        r"cost[a-z]*|how much (?:does|is|will|do|for|would|it|this|are|money)|price(?! chopper)|pay|paying"
        r"|afford",
        r"(?:is|it|its|this|that|everything|totally|for|really|completely|actually|be) free|free of charge",
        r"insurance|insured|medicaid|medicare|money|do (?:you|they) charge|charge (?:me )?for|fees?|bill"
        r"|billed",
        r"cuanto (?:sale|cobra)|sale caro|cobra|cobrar",
        r"cuanto (?:cuesta|vale|cobran|es|hay que pagar)|cuesta|costo|gratis|gratuito|pagar|pago|dinero"
        r"|cobran",
        r"seguro medico|(?:no tengo|sin|tengo|necesito|con) (?:seguro|aseguranza)|aseguranza|medicaid",
    ),
    "residency": (
        r"(?:live|living|reside|stay|staying) (?:in|out|outside|near|far)|dont live|do not live|where i live",
        r"not from (?:here|lees summit|around|this)|from out of (?:town|state)|out of (?:town|state|county)"
        r"|(?:another|different|other) (?:city|town|county|state)|resident[a-z]*",
        r"(?:people|someone|somebody|anyone|folks) from|(?:im|i am|were|we are) from|not from|i live in",
        r"(?:only|just) (?:help|for|serve|take|open to)|outside (?:of )?(?:lees summit|the city|town"
        r"|the county)"
        r"|(?:sirve|puedo ir|aplica) si no vivo|si no vivo",
        r"(?:no soy|somos|soy|vengo|venimos) de (?:aqui|otr[ao]|fuera|afuera|lejos)",
        r"(?:vivir|vivo|vive|vivimos|vivo) (?:en|aqui|fuera|afuera|lejos|cerca)|no vivo|otra ciudad"
        r"|otro (?:condado|estado|pueblo)|residen[a-z]*|de fuera",
    ),
    "privacy": (
        r"confidential[a-z]*|anonymous[a-z]*|anon|privacy|private|privately|secret",
        r"who (?:will |can |would |gets to |else )?(?:see|know|read|find out)|(?:find|found) out|tell (?:my"
        r"|anyone)",
        r"(?:keep|save|store|record|track)[a-z]* (?:my|this|the|these|our) (?:number|info|messages|texts|name"
        r"|data|conversation|chat|phone)|my (?:info|information|data|name)|share my",
        r"(?:anyone|anybody|somebody|someone|people|my family|my job|my boss|my work|my parents|my wife"
        r"|my husband|my mom|my kids|the cops|police) (?:have to|has to|gonna|going to|will|would|need to)"
        r" (?:know|find out|see|hear|be told)",
        r"(?:keep|keeping|kept) (?:any )?records|records|tracking|delete (?:my|it|this|everything)|erase",
        r"recording|recorded|(?:will|would|do|does|is|are|gonna) (?:my|the|anyone at my) [a-z]+"
        r" (?:know|find out|see|hear|be told)",
        r"(?:van a|va a|pueden|puede) saber|saber mi nombre|mi nombre",
        r"(?:se|me) (?:va|van) a enterar|enterar[a-z]*|(?:guardar|guardan|guardaran) (?:mi|mis)|registros",
        r"confidencial|anonim[a-z]*|privad[a-z]*|privacidad|secreto|mis (?:datos|mensajes)"
        r"|se (?:van a )?enter[a-z]*"
        r"|quien (?:va a |puede )?(?:ver|saber|leer|lee)|guardan",
    ),
    "bring": (
        r"bring|brought|need to (?:have|carry|take)|what do i need|(?:take|have) with me|carry|pack|packing",
        r"(?:puedo|debo|tengo que) (?:llevar|traer)|que debo llevar",
        r"(?:my|an|a|photo|state|need|no|have|any) ids?|identification|license",
        r"que (?:llevo|traigo)|(?:llevo|traigo) algo|(?:que|tengo que|necesito) (?:llevar"
        r"|traer)|identificacion|documentos|licencia",
    ),
    "pickup": (
        r"(?:police|cop|patrol|marked|unmarked|squad) car|uniform|what (?:car|vehicle)",
        r"what will (?:the officer|they|he|she) (?:drive|look like|wear)|how will i know (?:them|the officer"
        r"|its them)",
        r"patrulla|carro de (?:la )?policia|uniforme|que (?:carro|coche)",
    ),
    "treatment": (
        r"(?:what|which) (?:kind|type|sort) of (?:treatment|rehab|program|place|help)|detox or rehab",
        r"is it (?:detox|rehab|inpatient|outpatient)|how long is (?:treatment|rehab|the program|detox)",
        r"(?:do|will|can) (?:they|you|i) (?:give|get|have) (?:me )?(?:methadone|suboxone|meds|medication)",
        r"(?:que|cual) tipo de (?:tratamiento|programa|ayuda)|desintox[a-z]*|que tratamiento",
        r"(?:what about|who (?:will )?(?:watch|watches|take care of|takes care of|feed|feeds)|can i (?:keep"
        r"|have"
        r"|take)|do i (?:keep|get to keep)) (?:my|mis?) (?:kids|children|child|dog|dogs|cat|cats|pets?|phone"
        r"|cell"
        r"|job|stuff|things)",
        r"how long (?:is|does|will) (?:treatment|rehab|detox|it take at)|how long will i (?:be there|stay"
        r"|be gone)",
        r"(?:y|que pasa con|quien cuida a|quien cuida) (?:mis|mi) (?:hijos|ninos|mascotas|perro|gato|telefono"
        r"|celular|trabajo|cosas)|cuanto (?:dura|tiempo dura) (?:el tratamiento|la rehabilitacion)",
    ),
    "waiting": (
        r"while (?:i|we) (?:wait|am waiting|are waiting)|(?:until|till|before) (?:they|the officer"
        r"|you) (?:come|get"
        r" here|arrive)|what (?:do|should|can) i do (?:now|meanwhile)|(?:can|should) i use (?:while|before"
        r"|now)",
        r"(?:mientras|en lo que) (?:espero|esperamos|llegan|llega)|que hago mientras",
    ),
    "what_happens": (
        r"what happens|whats (?:going to|gonna) happen|what will happen|how it works",
        r"how (?:does|do|will|would) (?:this|it|that|the|your|yall|you guys|you all|things|amnesty)"
        r"(?: [a-z]+)? work",
        r"(?:whats|what is) (?:the process|this|safe passage|the program|this program|amnesty)|then what"
        r"|what next|whats next|what do (?:you|you guys|yall|you all|they|the officers?) do|amnesty",
        r"what do i (?:do|have to do|need to do)|what now|explain|(?:whats|is there) (?:the |a )?catch",
        r"como es el proceso|que hago|que tengo que hacer|como le hago|como hago",
        r"que (?:pasa|va a pasar|sigue|hacen)|como funciona|que es esto|que es (?:el programa|safe passage)"
        r"|de que se trata|el proceso|amnistia",
    ),
    "family": (
        r"(?:my|mi) (?:son|daughter|kid|kids|child|husband|wife|boyfriend|girlfriend|partner|brother|sister"
        r"|mom|mother|dad|father|cousin|nephew|niece|grandson|granddaughter|loved one)",
        r"for (?:someone|somebody) else|(?:a|my) (?:loved one|family member)|help (?:my|a) (?:friend|family)",
        r"(?:mi|a mi) (?:hijo|hija|hijos|esposo|esposa|novio|novia|hermano|hermana|mama|madre|papa|padre"
        r"|primo|prima|sobrino|sobrina|nieto|nieta)|para (?:otra persona|alguien mas|un familiar)"
        r"|un (?:familiar|ser querido)",
    ),
}

# A text asking for a ride to treatment ("can someone pick me up", "necesito que me recojan").
RIDE = (
    r"ride|rides|raite|aventon|pick me up|pick up me|come (?:get|pick up|and get) me|pickup|pick-up",
    r"(?:want|wanna|need|ready|like|take me|get me|go|going|get) (?:to )?(?:go )?(?:to |into |in )?"
    r"(?:treatment|rehab|detox|a program|the hospital for treatment)",
    r"take me (?:to|in)|drive me|get me (?:to|into|out)|(?:can|could) (?:someone|somebody|you|an officer)"
    r" (?:come|pick|get|take)",
    r"recojan|recoger(?:me)?|recogerme|recojame|vengan? (?:por|a buscar)me|vengan por mi|venir por mi"
    r"|(?:quiero|necesito|me pueden|pueden) (?:ir|entrar|llevar(?:me)?)(?: a)? (?:tratamiento|rehabilitacion"
    r"|desintoxicacion|un programa)|llevenme|llevame|llevarme|transporte|viaje",
    r"send (?:someone|somebody|an officer|a cop|a car|help)(?: to (?:get|pick up) me)?|me pueden llevar"
    r"|(?:pasar|pasen|vengan|venir) por mi|(?:need|want) (?:someone|somebody) to (?:get|pick up|come get) me",
)

# Hellos and asks for help that mean "show me what you can do" from any menu.
GREETING = (
    r"hi|hey|heya|hello|helo|yo|sup|good (?:morning|afternoon|evening|night)|(?:hi|hey|hello) there",
    r"(?:is )?(?:anyone|anybody|somebody|someone) (?:there|here|home)|hello anyone|you there",
    r"hay alguien|alguien (?:ahi|esta|me (?:puede|pueda) ayudar|puede ayudarme)|ayuden(?:me)?",
    r"(?:can you |can u |can someone |could you |please )?help(?: me| us)?(?: please| pls| plz)?",
    r"i need (?:some )?help|need help|i want help|i need to talk to someone",
    r"hola|ola|buenas|buenos dias|buenas (?:tardes|noches)|buen dia|que tal|oye",
    r"(?:quiero|necesito) ayuda|ayuda(?:me|nme)?|ayudeme|(?:me )?(?:pueden|puede) ayudar"
    r"|necesito hablar con alguien",
)

# How a question starts: where a place is asked, only a text that reads as a question is one.
QUESTION_START = frozenset(
    {"what", "whats", "how", "will", "would", "can", "could", "do", "does", "did", "is", "are", "am"}
    | {"who", "when", "where", "why", "should", "if", "que", "como", "cuanto", "cuanta", "cuando"}
    | {"donde", "quien", "puedo", "pueden", "puede", "tengo", "es", "hay", "me", "voy", "necesito"}
)
# A question put as "and if ...": "y si no tengo seguro", "what if i have a warrant".
QUESTION_OPENINGS = ("y si ", "and if ", "what if ", "what about ", "y que tal si ", "que tal si ")
QUESTION_OPENINGS += tuple(
    f"si {verb} " for verb in ("tengo", "no", "me", "vivo", "llevo", "estoy", "soy", "hay")
)
# Words a question may open with before its question word: "so how does it work", "ok what if".
FILLERS = frozenset(
    {"so", "and", "but", "ok", "okay", "wait", "um", "uh", "also", "hey", "pero", "oye", "bueno"}
)

# Words that name a place: where the place is asked, a statement without them ("no tengo seguro",
# "im from out of town") is about the program, not where to meet.
PLACE_WORDS = frozenset(
    {"st", "street", "ave", "avenue", "rd", "road", "blvd", "hwy", "highway", "pkwy", "dr", "ln", "way"}
    | {"parking", "lot", "store", "station", "park", "church", "hospital", "library", "motel", "hotel"}
    | {"house", "apartment", "apt", "corner", "behind", "front", "outside", "near", "by", "across"}
    | {"walmart", "qt", "quiktrip", "walgreens", "mcdonalds", "gas", "bus", "stop", "school", "hq"}
    | {"calle", "esquina", "parque", "tienda", "casa", "afuera", "enfrente", "frente", "gasolinera"}
    | {"estacion", "iglesia", "escuela", "parada", "avenida", "carretera", "detras", "cerca", "junto"}
    | {"back", "side", "inside", "chopper", "target", "mall", "plaza", "center", "market", "shop", "bar"}
    | {"restaurant", "gym", "job", "home", "room", "inn", "clinic", "jail", "court", "mercado"}
    | {"office", "building", "main", "downtown", "tavern", "pharmacy", "church", "dojo", "liquor", "motel"}
)

_BOUND = "(?<![a-z0-9]){}(?![a-z0-9])"


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(_BOUND.format("(?:" + "|".join(f"(?:{p})" for p in patterns) + ")"))


_TOPICS = {topic: _compile(patterns) for topic, patterns in TOPICS.items()}
_RIDE = _compile(RIDE)
_ONE_GREETING = "(?:" + "|".join(f"(?:{p})" for p in GREETING) + ")"
_GREETING = re.compile(f"{_ONE_GREETING}(?: {_ONE_GREETING})*")  # "hey can you help me"


def read_question(folded: str, topics: "set[str] | frozenset[str] | None" = None) -> str | None:
    """Return the topic a normalised text asks about, among `topics` (all when None), or None."""
    if not folded:
        return None
    for topic, pattern in _TOPICS.items():
        if (topics is None or topic in topics) and pattern.search(folded):
            return topic
    return None


def without_question(folded: str, topic: str) -> str:
    """Return a normalised text without the words that asked about a topic."""
    return " ".join(_TOPICS[topic].sub(" ", folded, count=1).split())


def looks_like_place(folded: str) -> bool:
    """Tell whether a normalised text names a place: a number or a place word."""
    return any(word in PLACE_WORDS or any(c.isdigit() for c in word) for word in folded.split())


def reads_as_question(raw: str, folded: str) -> bool:
    """Tell whether a text is put as a question: a question mark or a question's first word."""
    words = folded.split()
    while words and words[0] in FILLERS:
        words = words[1:]
    if " ".join(words).startswith(QUESTION_OPENINGS):
        return True
    return "?" in raw or "\u00bf" in raw or bool(words) and words[0] in QUESTION_START


def wants_ride(folded: str) -> bool:
    """Tell whether a normalised text asks for a ride to treatment."""
    return bool(folded) and _RIDE.search(folded) is not None


def is_greeting(folded: str) -> bool:
    """Tell whether a whole normalised text is a hello or a plain ask for help."""
    return bool(folded) and _GREETING.fullmatch(re.sub(r"([a-z])\1{2,}", r"\1", folded)) is not None
