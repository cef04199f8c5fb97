"""Recognise danger in what people write or say: an overdose or other emergency, or suicidal words.

Pure, like the rest of `flows`. Matching is by meaning rather than by a list of sentences: each
concept below is a pattern over word forms ("od", "odd", "oded", "oding", "overdosing"...), read
after `normalise` (lowercase ASCII, no apostrophes: "OD'd" is "odd", "won't" is "wont"). Before
the patterns run, longer words that are not known words are corrected to the nearest danger word
("sucidal", "ovedose", "unresponsve", "respirandoo"), one edit away (two from eight letters).

Typos are measured with rapidfuzz (optimal string alignment, so "suicdie" is one edit): about 5
microseconds a word against every danger word, and each word is corrected once (cached). symspellpy
took 13 microseconds a lookup over the same words, and with its English dictionary 5 s and 135 MB
to load; the few real words near a danger word are listed in KNOWN instead.

Recall comes first: a false alarm costs one extra text, a miss can cost a life. Ordinary words
("drugs", "help", "treatment", a street name such as "Blue Ridge Blvd") never match.
"""

import re
from functools import lru_cache

from rapidfuzz.distance import OSA
from rapidfuzz.process import extractOne

# Words in between a negation and the verb it negates: "cant get him to wake up".
GAP = r"(?: (?!want|wanna|wants)[a-z0-9]+){0,3}"
NEG_EN = (
    r"(?:not|isnt|aint|wont|cant|cannot|couldnt|wouldnt|doesnt|didnt|dont|wasnt|hasnt|havent"
    r"|no|never|stopped|stop|quit|barely|hardly|unable to|no longer|trouble|hard to)"
)
SELF = r"(?:myself|my self|mself|meself|myslef|mysef|himself|herself|themselves|themself|urself)"
PERSON_EN = (
    r"(?:he|she|they|bro|him|her|friend|son|daughter|brother|sister|boyfriend|girlfriend|bf|gf|husband"
    r"|wife|baby|dude|guy|man|mom|dad|cousin|buddy|homie|roommate|kid|someone|somebody|girl|boy)"
)
# Words between a wish and its end, not across "before" or "if" ("want to get clean before i die").
WISH_GAP = r"(?: (?!before|if|or|when|because|without|from|dont|not)[a-z0-9]+){0,6}"
# The body in trouble after a collapse or a dose: "dropped and is shaking", "took something and is
# twitching".
SIGNS_EN = (
    r"(?:shaking|shakin|twitching|jerking|convulsing|seizing|spasming|stiff|rigid|limp|pale|grey|gray|blue"
    r"|purple|cold|clammy|foaming|gurgling|choking|not moving|not breathing|unresponsive|out cold|passed out"
    r"|eyes rolled|eyes rolling|turning colou?rs|wont wake|cant wake|not waking|wont respond|not responding"
    r"|wont answer|not answering|wont talk|acting (?:weird|strange|funny|off)|sleepy|drowsy|cant stay awake"
    r"|slurring|confused|throwing up|puking|vomiting|numb|cant keep (?:his|her|my|their) eyes open|so sleepy"
    r"|feel(?:s|ing)? (?:really |so |very |super )?(?:bad|weird|funny|strange)|feel like (?:im )?dying"
    r"|(?:on|in) the (?:ground|floor|sidewalk|street)|drooling|not with it|out of it)"
)
# A person going down: "just dropped", "went down after a line", "hit the floor".
DOWN_EN = (
    r"(?:dropped|just dropped|went down|gone down|hit the (?:floor|ground|deck)|fell (?:down|over|out)"
    r"|keeled over|fell to the (?:floor|ground)|collapsed|is down)"
)
# Ordinary sayings that only sound like danger: removed before the patterns run, so "my phone is
# dying" or "me muero de hambre" raise nothing and "my phone is dying and he isnt breathing" still does.
IDIOMS = (
    r"(?:phone|phones|battery|batterys|batteries|cell|charger|car|laptop|tablet|ipad|iphone|signal)"
    r"(?: is| s| was| just| about to| gonna| going to| bout to| finna| almost| already){0,3}"
    r" (?:dying|die|died|dead|going dead)",
    r"(?:dying|dieing|died|dead|die)(?: of| from)? (?:boredom|laughter|laughing|hunger|thirst|embarrassment"
    r"|curiosity|cringe)|(?:dying|dead) (?:lol|lmao|haha)",
    r"(?:fell|falling|fallen) out (?:with|last|over|years|a while|for)|(?:we|had a) (?:fell|falling) out",
    r"dead (?:to (?:me|us|him|her)|asleep)|(?:dead|deathly) (?:tired|serious|broke|ass|sure)"
    r"|killing (?:time|it)"
    r"|kill (?:for|time)"
    r"|to die for|dying to(?! (?:be|not))",
    r"(?:me|se|te|nos) (?:estoy |esta |estas |estamos )?(?:muero|muere|mueres|morimos|muriendo)"
    r" de (?:hambre|sueno|risa|la risa|frio|calor|ganas|verguenza|miedo|aburrimiento|sed|envidia|amor"
    r"|cansancio|nervios|curiosidad|celos|los nervios)",
    r"(?:muero|muere|mueres|morimos|muriendo) por (?!dentro)[a-z]+(?:ar|er|ir)(?:te|lo|la|los|las|me|nos)?"
    r"(?![a-z])",
    r"mat(?:ar|ando|o|e|amos) (?:el )?(?:tiempo|rato)",
    r"(?:died|passed away|se murio|murio|fallecio)(?: [a-z]+){0,4} (?:last (?:year|month|week|summer|winter"
    r"|spring|fall)|(?:a|one|two|three|few|[0-9]+) (?:years?|months?|weeks?) ago|in [0-9]{4}|el (?:ano|mes)"
    r" pasado|la semana pasada|hace (?:un|una|dos|tres|unos|unas|[0-9]+) (?:anos?|mes|meses|semanas?))",
    r"(?:celular|cel|telefono|bateria|pila|carro|laptop|compu)(?: se| ya| esta| va a| se va a| se esta){0,3}"
    r" (?:muriendo|murio|muerto|muerta|morir|muere|descargando)",
    r"(?:im|i am|i m|am) (?:not|no longer) (?:feeling )?suicidal(?= (?:just|im|i am|anymore|though)|$)",
)

# kind -> language -> concept patterns. Crisis is read first; see `read_danger` for both at once.
PATTERNS: dict[str, dict[str, tuple[str, ...]]] = {
    "crisis": {
        "en": (
            r"suicid[a-z]*|suiside|suisidal|sewerslide|unalive[a-z]*|kms|kmss",
            r"s[uie]{1,3}[cs](?:ii?|ie)?d[a-z]*",  # sucide, suicde, suecide, sucidial
            r"disappear forever|never wake up again|(?:if|when) i (?:was|were|am|wasnt|werent) (?:dead|gone"
            r"|here)"
            r"|(?:happier|better) (?:if i|without me)",
            r"jump(?:ing)? (?:off|from) (?:a|the|this|that) (?:bridge|roof|building|overpass|cliff)"
            r"|(?:jump|step|walk)(?:ing)? in front of (?:a|the) (?:train|car|truck|bus)",
            r"(?:so|so that|and|till|until) i (?:can |could |will |would |just )?die",
            r"(?:care|notice|miss me) if i (?:died|die|was gone|was dead|disappeared|wasnt here|live or die"
            r"|lived or died|wake up|woke up|make it)|better off if i (?:died|die|was gone|were gone"
            r"|wasnt here"
            r"|was dead|killed myself|disappeared|wasnt around|wasnt alive|left this world)"
            r"|(?:leave|leaving|left|be out of) this (?:world|earth)"
            r"|stop (?:living|existing|being alive)",
            r"(?:been|started|start|keep|still|back to) cutting(?! back| down| off| out| the| my hair| hair"
            r"| weed)",
            rf"(?:kill|killing|killin|kil|end|ending|hurt|hurting|harm|harming|cut|cutting|hang|hanging"
            rf"|shoot|shooting|off|offing|drown|drowning|poison|poisoning|stab|starve) {SELF}",
            r"self harm[a-z]*|selfharm[a-z]*|self injur[a-z]*",
            r"(?:end|ending|take|taking|end to|finish|finishing) (?:my|my own) life",
            r"(?:end|ending|endin) (?:it|it all|everything|things)(?! with| between| here)",
            r"(?<!dont )(?<!not )(?<!never )(?:want|wanna|wants|wanted|going|gonna|gunna|gon|ready|plan"
            r"|planning"
            r"|trying|tryna|try|wish|wished|rather|deserve|hope|hoping|about)(?: to)?"
            + WISH_GAP
            + r" (?:die|dye(?! (?:my|it|the|hair|her|his|them))|dead|not be alive|not exist|not wake up"
            r"|never wake up|sleep forever|disappear forever|be gone forever|end it all|end my life"
            r"|be gone(?! (?:for|from|by|before|till|until|when|at|in|on))"
            r"|stop existing)",
            r"(?:thinking|thought|thoughts|think) (?:about|of|bout)(?: [a-z]+){0,2}"
            r" (?:dying|death|suicide|ending|killing|ending it|not being here)",
            r"(?:dont|do not|no longer|not|dnt|doesnt)(?: think i| feel like i)? (?:want|wanna|wish"
            r"|feel like)(?: to)?(?: [a-z]+){0,2}"
            r" (?:live(?! (?:here|there|in|with|at|near|alone|by))|living|be alive|be here|exist|existing"
            r"|wake up"
            r"|go on(?! (?:a|the|my|that|with))|keep going|be around)",
            r"(?:no|not|nothing|isnt|aint|lost)(?: [a-z]+){0,2} (?:point|reason|worth|purpose)"
            r"(?: [a-z]+){0,4} (?:living|live|life|alive|going on|go on|anymore)",
            r"nothing (?:left )?to live for|not worth living|life is pointless|whats the point anymore",
            r"(?:life|living|my life|this life|it all) (?:isnt|is not|aint|not|wasnt|no longer) worth"
            r"(?: it| living| anything)?",
            r"(?:going|gonna|gunna|about|ready|want|wanna|planning|plan) (?:to )?jump"
            r"(?! (?:in|on|into|start|rope|through|ship|the line|at))",
            r"point (?:of|in) (?:living|life|going on|being alive|anything|it all)",
            r"(?:should|might as well|may as well|just gonna|just going to) (?:just )?"
            r"(?:die|end it|kill myself)",
            r"better off (?:dead|without me|gone)|(?:world|everyone"
            r"|everybody)(?: [a-z]+){0,2} better without me",
            r"cant (?:go on|keep going|live like this|take (?:it|this|this life|life) anymore"
            r"|do (?:this|it|life) anymore)",
            r"tired of (?:living|life|being alive)|done with (?:life|living)|give up on life",
            r"want (?:it|it all|everything|this|the pain|all of it|all this|life|my life)(?: all"
            r"| just){0,2} to"
            r" (?:just )?(?:end|stop|be over)(?! so (?:i|we|that)| and then| before)",
            r"(?:want|wanna|need) (?:out of|to get out of|to leave) (?:this|my) (?:life|world)(?! (?:of"
            r"|style))",
            r"feel(?:s|ing)? like (?:dying|dieing|death)|(?:hope|hoping|pray|praying"
            r"|wish) (?:that )?i (?:dont"
            r"|never|wont|do not) (?:ever )?wake up",
            r"(?:od|odd|overdos[a-z]*) on purpose|wish i (?:was|were|wasnt) (?:dead|never born|gone)",
            r"wish i (?:wasnt|werent|was not|were not|didnt|did not|hadnt|had not|couldnt)(?: [a-z]+){0,2}"
            r" (?:alive|born|here|exist|wake up|been born|live)"
            r"|wish i (?:was|were|could|would|had|never|could just)(?: [a-z]+){0,2} (?:dead|gone|die|died"
            r"|disappear|never (?:been )?born|never wake up|sleep forever|stop existing|not exist)",
            r"sleep forever|(?:never|not) wake up again|sleep and (?:never|not) wake up",
            r"done with (?:everything|it all|all of (?:it|this)"
            r"|this life|this world|life|living|being alive|being here|existing)"
            r"(?! (?:about|from|to do|related|that|in|with|of))",
            r"hate (?:being alive|living|existing|waking up)",
            r"(?:no|dont see a|dont see any|cant see a|cant see any|cant find a|there is no|theres no|isnt a"
            r"|aint no) way out",
            r"(?:not|wont|never|aint) (?:going to |gonna |gunna )?be (?:around|here|alive)(?: [a-z]+){0,2}"
            r" (?:longer|tomorrow|anymore|for long|by morning|after tonight)",
            r"(?:goodbye|bye|farewell) (?:everyone|everybody|forever|world|cruel world|for good)"
            r"|(?:this is|its|this will be|tonight is|today is|tonights|todays) my (?:last|final) (?:text"
            r"|message|night|goodbye|day)(?! (?:using|of using|here|at|in|working|before|with|to|of|on|off))"
            r"|(?:know|decided|figured out|planned|picked) (?:exactly )?(?:how|when|where)(?: i| im| i am"
            r"| ill"
            r"| i will)?(?: going to| gonna| gunna)? (?:do it|die|end it|kill myself)"
            r"|(?:final|last) goodbye",
            r"(?:razor|blade|gun|pistol|knife|rope|noose|pills)(?: [a-z]+){0,4} (?:going to|gonna|gunna"
            r"|will|ill"
            r"|finna|about to) (?:use|do) it",
            r"(?:planning|planned|plan|figuring out|figured out|thinking about|researching|looking up"
            r"|googling)"
            r" (?:how|the best way|ways|a way|when) (?:to |i will |im going to |ill )?(?:do it|die"
            r"|kill myself"
            r"|end it|end my life|overdose|od)|how many (?:pills|bars|percs)(?: [a-z]+){0,3} (?:to die"
            r"|to kill"
            r"|would kill|it takes to die)",
            r"(?:im|i am|i feel like|feel like|being|im just) (?:a |such a |nothing but a )?burden",
            r"noose|(?:rope|gun|pistol|razor|blade|knife)(?: [a-z]+){0,3} (?:ready|loaded|around my neck"
            r"|to my head|tied)",
            r"(?:take|taking|swallow|swallowing) (?:them|it|all of them|all my pills|all my meds"
            r"|all the pills|every pill)(?: [a-z]+){0,2} (?:all )?at once",
            r"(?:going to|gonna|gunna|will|ill|want to|wanna|about to|bout to|finna|plan to|planning to"
            r"|ready to|thinking about|thinking of|think about|thought about|feel like)"
            r" (?:just )?(?:take|taking|swallow|swallowing|down|downing|eat|pop|popping)"
            r" (?:all|every|the whole|a whole|all of)"
            r"(?: [a-z]+){0,2} (?:pills|meds|bottle|pill|medication|xanax|oxys?|percs?)"
            r"(?! (?:to|in|back|down) (?:the|you|a|station|police|officer|cops|pharmacy)(?![a-z]))",
            rf"(?:end|ending|take|taking|took) (?:his|her|their) (?:own )?life|{PERSON_EN}"
            r" (?:is |s )?(?:talking|talks|talked|saying|says|said|texting|texted|posting|posted)"
            r" (?:about |bout )?(?:killing|ending|suicide|dying|wanting to die|not wanting to live)",
            r"if i (?:die|died|dont wake up|never wake up|od|odd|overdose)(?: [a-z]+){0,2} (?:so be it"
            r"|whatever"
            r"|who cares|oh well|idc|i dont care|fine|good|its fine)",
            r"goodbye (?:letter|letters|note|notes|text|texts|message|messages|video)|suicide note"
            r"|(?:wrote|writing|left|leaving) (?:a |my )?(?:last )?(?:note|letter)s? (?:for|to) (?:my"
            r"|everyone"
            r"|everybody|when)",
            rf"(?:use|using|used|turn|turning|point|pointing) (?:it|this|that|the gun|a gun|the knife|them)"
            rf" on {SELF}",
            r"(?:nobody|no one|noone|nobody ever|no body) (?:would|will|gonna|is going to|is gonna|even)"
            r" (?:miss|care about|notice|mourn|care)(?: me| if)?",
            r"(?:want|wanna|wants|wish i could|just want|need) (?:to )?disappear(?! (?:for a|for the"
            r"|for an))",
        ),
        "es": (
            r"suicid[a-z]*|autolesion[a-z]*",
            r"matarme|matarm|me mato|me matare|me matar|matandome",
            r"(?:me|se|te) (?:voy|vo|boy|va|vas|van|quiero|kiero|kero|quiere|quieres|quieren|gustaria"
            r"|quisiera|pienso|piensa|dan ganas de|da ganas de|ganas de)"
            r"(?: a)? (?:matar|suicidar|morir|quitar la vida)",
            r"matarse|suicidarse|quitarse la vida|se (?:mato|suicido|quito la vida)",
            r"quitarme la vida|quitar(?:me)? mi vida|(?:acabar|terminar|ponerle fin|poner fin)"
            r"(?: con| a)? (?:mi vida|con todo|todo esto|mi existencia)",
            r"(?:quiero|quisiera|kiero|queria|deseo|prefiero|ganas de|me quiero|me voy a|voy a|pienso en"
            r"|pensando en|pienso|ojala)"
            r"(?: (?!antes|si|cuando|porque|sin)[a-z]+){0,6} (?:morir[a-z]*|muert[a-z]*|matarme"
            r"|(?:irme|ir|desaparecer|dormir|dormirme|descansar|dejar de existir) para siempre)",
            r"(?:dormir|dormirme|descansar|desaparecer|irme) para siempre",
            r"para (?:morir(?:me)?|matarme|no despertar|ya no despertar|acabar con todo|quitarme la vida)",
            r"(?:quiero|quisiera|ojala|ganas de|prefiero|preferiria|deseo|me gustaria|solo quiero)"
            r"(?: [a-z]+){0,4} no (?:despertar|despertarme|volver a despertar|existir|haber nacido"
            r"|estar viv[oa]|vivir|amanecer|seguir aqui)"
            r"|no volver a despertar|no despertar nunca|nunca despertar|no despertar jamas",
            r"si (?:me muero|me muriera|muero|muriera|me mato|me matara|desapareciera|ya no estuviera"
            r"|no estuviera)",
            r"(?:ojala|quisiera|desearia|mejor)(?: [a-z]+){0,2} (?:no )?(?:hubiera|haber|hubiese) nacido"
            r"|no (?:hubiera|hubiese|debi haber|debia haber) nacido",
            r"ojala (?:me muera|estuviera muert[a-z]*|no despertar)",
            r"(?:no|ya no)(?: [a-z]+){0,2} (?:quiero|kiero|quisiera|tengo ganas de|deseo)(?: [a-z]+){0,2}"
            r" (?:vivir|viviendo|seguir|estar aqui|existir|despertar|estar viv[oa])",
            r"(?:ya no aguanto|no aguanto mas|no puedo mas|ya no puedo mas)(?! (?:la espera|esperar|el frio"
            r"|el calor|el hambre|el sueno|las ganas|la sed|el trafico)(?![a-z]))",
            r"no aguanto (?:mi vida|la vida|vivir|esta vida|estar viv[oa]|seguir)",
            r"nadie (?:me )?(?:va a |iba a |)(?:extranar|extranaria|extrana|echaria de menos|echar de menos"
            r"|notaria|notar)",
            r"(?:no|ya no|nada)(?: le)? (?:encuentro|veo|tiene|tengo|tienen|hay) (?:ningun "
            r"|nada de )?(?:sentido"
            r"|caso|razon)(?! (?:esperar|que|ir|llamar|preguntar|hablar|pedir|quedarme|venir|eso|lo que))"
            r"|(?:la vida|mi vida|vivir) no tiene sentido|sin sentido (?:la vida|vivir|seguir)",
            r"(?:quiero|quisiera|ganas de|me gustaria|solo quiero|deseo) desaparecer",
            r"mejor (?:estaria |estar |seria estar )?muert[oa]s?",
            r"(?:estarian|estaria|seria|serian|estaran|vivirian) mejor (?:sin mi|si (?:me muero|me muriera"
            r"|no estuviera|desaparezco|desapareciera|ya no estoy))|soy (?:una|un) (?:carga|estorbo)",
            r"(?:voy a|me voy a|quiero|pienso|ganas de|pensando en)(?: [a-z]+)? (?:tomar|tomarme|tragar"
            r"|tragarme"
            r"|meterme) (?:todas|todo el|toda la|el frasco|la caja|un frasco|un monton|el bote)",
            r"mejor (?:me muero|morirme|me mato|estar muert[oa])",
            r"(?:cansad[oa]|harto|harta|me canse|me cansé) de (?:vivir|la vida|estar vivo|estar viva)",
            r"(?:me voy a|quiero|voy a|me quiero|pienso) (?:colgar|ahorcar|tirar|aventar|cortar las venas)"
            r"|ahorcarme|colgarme|cortarme las venas|tirarme (?:de|del|al|a las) ",
            r"(?:irme|ir|salir|marcharme|despedirme|dejar) (?:de )?este mundo",
            r"(?:quiero|quisiera|ojala|solo quiero|deseo) que (?:todo|todo esto|mi vida|el dolor|la vida)"
            r" (?:se acabe|termine|se termine|acabe|pare|se pare)",
            r"(?:no|sin)(?: [a-z]+){0,2} (?:sentido|razon|razones|motivo|motivos"
            r"|vale la pena)(?: [a-z]+){0,2}"
            r" (?:vivir|la vida|seguir|seguir viviendo)",
            r"(?:hacerme|hacer me|quiero hacer|me quiero hacer|voy a hacer|me voy a hacer) (?:dano|algo malo)"
            r"|lastimarme|cortarme|herirme|me (?:estoy )?cortando|me corto(?! el| la| las| los| mi)",
            r"(?<!llamada )(?<!senal )(?<!linea )(?<!voz )(?:me|se|te) (?:esta |estoy |estas |sigue |sigo )?"
            r"cortando(?! (?:el|la|las|los|mi|su|pelo|cabello|unas|verduras|carne)(?![a-z]))",
        ),
    },
    "emergency": {
        "en": (
            r"od|ods|(?<!thats )(?<!its )(?<!so )(?<!how )(?<!an )(?<!kinda )(?<!very )(?<!weird )odd|oded"
            r"|odding|oding|odeing|odin|odn|o d|o ded|od ing|odd out",
            r"overdos[a-z]*|over dos[a-z]*|overdoz[a-z]*|overdid|overdone|overdoing|overdo it",
            rf"{NEG_EN}{GAP} (?:breath[a-z]*|wake|waking|woke|wakin|wakeup|conscious"
            rf"|pulse|heartbeat|heart beat|react(?:ing|s)?|respond(?:ing|s|in)?"
            rf"(?! to (?:(?:my|the|your|our|his|her) )?(?:text|texts|message|messages|call|calls|email"
            rf"|emails|dm|dms|letter|letters|ad|ads|offer|offers)))",
            r"(?:not|isnt|wont|stopped|aint|doesnt|hasnt|cant) (?:moving|move|movin)|unresponsive"
            r"|unresponsve|non responsive|nonresponsive|not responsive|no response from (?:him|her|them)",
            r"cant get (?:him|her|them|my [a-z]+) (?:up|to wake|awake|to respond|to breathe)",
            r"(?:turn[a-z]*|went|gone|going|getting|hes|shes|theyre|lips?|face|skin|fingers?|fingertips"
            r"|nails?|body) (?:[a-z]+ ){0,3}(?:blue|purple|gray|grey|ashen)",
            r"(?:blue|purple|gray|grey) (?:lips?|face|skin|fingers?|nails?)",
            r"slump(?:ed|ing|s)?(?: over| down)?|passed out|passing out|pass out|fell out|falling out"
            r"|knocked out|blacked out|out cold"
            r"|collaps[a-z]*|fainted|fainting|nodded out|nodding out|nodding off and",
            r"(?:went|gone|going|is|s|hes|shes|body|totally|all) limp|lifeless|unconscious|barely conscious",
            r"se(?:i|a|e|ie|ei)?(?:s|z)ures?|seizing|seizin|seizeing|convuls[a-z]*|having a fit",
            r"gurgl[a-z]*|foaming|foam[a-z]* (?:at|from) (?:the|his|her) mouth"
            r"|foam(?: [a-z]+){0,4} (?:mouth|nose)"
            r"|(?:eyes|pupils)(?: are| r| is| look)? (?:pinned|pinpoint|tiny|like pins)|pinned pupils"
            r"|(?:took|did|had|swallowed|popped|used) (?:a lot|alot|lots|a ton|tons|way too many|a shit ton)"
            r"(?: of)?(?! of (?:time|times))"
            r"|(?:numb|cant feel my (?:body|legs|arms|face|hands))(?: [a-z]+){0,4} (?:took|did|used|smoked"
            r"|snorted|after)|death rattle|choking"
            r"|snoring (?:weird|funny|loud|strange)",
            r"(?:dying|dieing)(?! (?:for|to))|(?<!phone )(?<!battery )(?<!cell )(?:is|s|hes|shes|looks|look"
            r"|might be|may be"
            r"|already"
            r"|prob|probably) dead|just died",
            rf"(?:took|take|taken|taking|had|did|done|used|ate|swallowed|drank|snorted|shot|smoked"
            rf"|injected|popped|tooken|took like){GAP} (?:too|to|tooo|2) (?:much|many)",
            r"(?:took|swallowed|ate|popped|taken|take|did|snorted|smoked|shot) (?:a |like a |like )?"
            r"(?:bunch|handful|whole bottle|bottle|ton|shit ton|load|all) of",
            r"took all (?:my|the|his|her) (?:pills|meds)",
            r"(?:too|to|tooo|2) (?:much|many) (?:pills|fent[a-z]*|heroin|dope|xanax|xans|bars|oxy[a-z]*"
            r"|percs?|drugs?|stuff|meth|coke|h)",
            r"narcan|narcam|narcon|naloxone|naloxon|nalaxone|nasal spray",
            r"call(?:ed|ing)? (?:911|an ambulance|the ambulance)|ambulance(?! bay| entrance| station"
            r"| service| company| parking)|paramedic[s]?"
            r"|(?:its|this is|an|having an|theres an|got an|need an|real) emergency",
            r"heart attack|heart stopped|no heartbeat|stroke|chest pain",
            r"gasp[a-z]*|(?:cant|cannot|not|isnt) get(?:ting)? (?:any )?air|struggling to breath[a-z]*",
            r"(?:he|she|bro|him|her|they|friend|son|daughter|brother|sister|boyfriend|girlfriend|husband|wife"
            r"|baby|dude|guy|man|mom|dad|cousin|buddy|homie|roommate) (?:is|s|looks|look|went|turned|turning"
            r"|getting|going)(?: [a-z]+)? (?:blue|purple|grey|gray)",
            r"(?:breathing|breath|heart|pulse|heartbeat) (?:has |just |is )?(?:stopped|stopping|slowed"
            r"|slowing)",
            r"(?:wont|not|isnt|didnt|doesnt|cant get (?:him|her|them) to) (?:come|coming) (?:to|around)"
            r"(?! (?:the|my|a|an|your|our|his|her|get|see|pick|meet|me|you|us|here|there|work|school))",
            r"(?:tried|trying|try|tryin) (?:to )?wake (?:him|her|them|my [a-z]+)",
            r"breathing (?:is )?(?:weird|funny|slow|slowly|shallow|strange|bad|wrong)",
            r"breath(?:ing|in|es|s)?(?: [a-z]+){0,3} (?:once every|every few|every couple|every other"
            r"|really slow|so slow|very slow|slow and|shallow|irregular|slow|slowly|rattly|raspy)",
            r"(?:heart|heartbeat|heart beat|pulse)(?: [a-z]+){0,3} (?:slow|slowly|weak|faint|racing|pounding"
            r"|irregular|skipping|out of my chest|so fast|really fast|super fast)",
            r"(?:got|been|was|is|hes|shes|just got|getting) (?:shot|stabbed)|bleeding (?:a lot|bad|badly|out"
            r"|everywhere|heavily|so much|wont stop|alot)|(?:throwing up|puking|vomiting|coughing up"
            r"|spitting up)"
            r" blood|(?:wont|doesnt|cant) stop bleeding|losing (?:a lot of )?blood",
            r"(?:baby|toddler|kid|kids|child|little one|son|daughter|grandson|granddaughter|niece|nephew)"
            r" (?:ate|swallowed|got into|drank|chewed)(?: [a-z]+){0,4} (?:pill|pills|meds|medicine|drugs"
            r"|fent[a-z]*|gummy|gummies|edible|edibles|stash|bag|purse|powder|something)",
            r"(?:took|swallowed|popped|ate|had|did|taken)(?: like| about| around| maybe| over)?"
            r" (?:[5-9]|[1-9][0-9]|five|six|seven|eight|nine|ten|twelve|fifteen|twenty)"
            r" (?:pills|bars|xans|percs|perc 30s|perc|oxys|blues|tabs|tablets|of them|of those|of em)",
            rf"{DOWN_EN}(?: [a-z]+){{0,4}} {SIGNS_EN}|{PERSON_EN} (?:just |suddenly |then |has |s )?"
            r"(?:dropped|went down|hit the floor|hit the ground|keeled over|fell over)"
            r"(?! (?:me|us|him|her|them|it|off|by|my|the|a|an|out of|to|in|at|on|some|his|their|your"
            r"|for)(?![a-z]))",
            r"(?:took|did|used|smoked|snorted|hit|had|drank|ate|popped|shot|sniffed|railed|tried|dabbed)"
            rf"(?: [a-z0-9]+){{0,6}} (?:and|now|then|after|n)(?: [a-z]+){{0,3}} {SIGNS_EN}",
            rf"{SIGNS_EN}(?: [a-z]+){{0,5}} (?:took|did|used|smoked|snorted|drank|popped|shot up|ate"
            rf"|swallowed)"
            r"(?! (?:my|his|her) (?:meds|medication|medicine|suboxone|methadone))",
            r"(?:took|drank|ate|swallowed|did|popped|had|smoked|snorted|shot)(?: [a-z]+)? (?:a |the )?whole"
            r" (?:bottle|pack|bag|sheet|strip|gram|eightball|eight ball|cup|pint|script|box|prescription"
            r"|scrip|supply|stash)",
            r"(?:shook|shaking|shake|yelled|yelling|slapped|slapping|pinched|sternum rub"
            r"|rubbed)(?: [a-z]+){0,5}"
            r" (?:and|but) (?:nothing|still nothing|no response|no reaction)",
            r"(?:shaking|twitching|jerking|convulsing|seizing|foaming|not moving|passed out|unresponsive"
            r"|limp)"
            r" (?:on|in) the (?:ground|floor|sidewalk|street)|(?:on|in) the (?:ground|floor|sidewalk|street)"
            r"(?: [a-z]+){0,2} (?:shaking|twitching|jerking|convulsing|seizing|foaming|not moving|passed out"
            r"|unresponsive|limp)",
            r"needle (?:still )?(?:in|stuck in|hanging out of) (?:his|her|their|the|my) (?:arm|neck|leg"
            r"|hand|foot)",
            r"eyes (?:are |were |just |r )?(?:rolled|rolling|rolls|roll|rollin) (?:back|up|in)",
            r"(?:turning|turned|changing|changed) colou?rs?"
            r"|(?:turning|gone|went|going|looks) (?:white|pale|ashy)",
            r"(?:pale|cold|clammy|stiff|rigid|ice cold|freezing)(?: and| but| n)(?: is| hes| shes| really"
            r"| so| very| all| super)? (?:cold|clammy|blue|stiff|pale|not moving|not breathing|wont wake|limp"
            r"|grey|gray|purple|sweaty|sweating|wont answer|not answering|not responding|not blinking"
            r"|cant talk|cant speak|not talking)",
            r"(?:bad|allergic) reaction|reacting (?:badly|bad)",
            r"(?:shaking|jerking|twitching|spasming)(?: and| n)(?: [a-z]+)? (?:jerking|twitching|convulsing"
            r"|seizing|spasming|foaming)|(?:jerking|twitching|convulsing|seizing)(?: and)? (?:wont|cant"
            r"|doesnt)"
            r" stop",
            r"cpr|chest compressions|compressions|mouth to mouth|rescue breath[a-z]*",
            r"(?:not|isnt|wont|stopped|aint) blinking|(?:stiff|rigid) as a board|cold to the touch",
            r"nodd?(?:ing|in|ed)(?: [a-z]+){0,3} (?:and|but|n) (?:wont|cant|not|isnt|doesnt|aint)"
            r"|nodding (?:hard|bad|heavy|real hard|really hard|real bad)|(?:wont|cant|not) come out of it",
        ),
        "es": (
            r"sobredosis|sobre dosis|sobredosi[a-z]*|sobredos[a-z]*",
            r"no(?: (?!quiero|kiero|quisiera|deseo)[a-z]+){0,2} (?:respir[a-z]*|reaccion[a-z]*|respond(?:e"
            r"|en|iendo)|despiert[a-z]*"
            r"|despertar[a-z]*"
            r"|se mueve|abre los ojos|tiene pulso|le late)",
            r"dejo de respirar|casi no respira|le cuesta respirar|respira (?:raro|mal|poco|lento|muy poco)",
            r"respir[a-z]*(?: [a-z]+){0,2} (?:despacio|lento|lenta|raro|rara|mal|poco|con dificultad|feo"
            r"|como ronquido|bien poco|muy poco)",
            r"no (?:lo|la|los|las|le) (?:puedo|podemos|pude|podia|puede) (?:levantar|despertar|mover"
            r"|hacer reaccionar)",
            r"(?:esta|estoy|se siente|me siento|se ve|anda|se puso|me puse) (?:muy |bien |super |re )?(?:mal"
            r"|grave|rar[oa])"
            r"(?: [a-z]+){0,3} (?:se tomo|tomo|me tome|tome|se metio|me meti|se inyecto|me inyecte|consumio"
            r"|fumo|fume|se le paso|me pase|(?:despues|luego) de (?:inyectar|fumar|tomar|meter|usar|consumir"
            r"|esnifar|inhalar)[a-z]*|tras (?:inyectar|fumar|tomar|meter|usar|consumir)[a-z]*)",
            r"rcp|reanimacion|reanimar[a-z]*|compresiones|boca a boca",
            r"inconsciente|ahog[a-z]*|asfixi[a-z]*|desmay[a-z]*|desmall[a-z]*|desvaneci[a-z]*|convulsi[a-z]*"
            r"|ataque|espuma",
            r"se (?:esta )?muriendo|muriendo|muriendose|se muere|se murio|esta muert[a-z]*|me muero"
            r"|me estoy muriendo"
            r"|se va a morir|se nos muere",
            r"(?:se puso|se esta poniendo|se volvio|se ve|esta|estan|labios|cara|piel)(?: [a-z]+){0,2}"
            r" (?:morad[a-z]*|azul[a-z]*|gris)",
            r"uso demasiad[a-z]*|(?:tomo|tome|se tomo|me tome|consumio|consumi|se metio|me meti|se inyecto"
            r"|me inyecte|trago|trague|fumo|fume|bebio|bebi|tomaron|ingirio|use|me puse|se puso|metio|meti)"
            r"(?: [a-z]+){0,3} (?:demasiad[a-z]*|mucho|mucha|muchas|muchos|un monton|todas|toda la|todo el"
            r"|de mas|bastante)"
            r"(?! (?:tiempo|rato|trabajo|esfuerzo|agua|cafe|dinero|gusto|frio|calor)(?![a-z]))",
            r"(?:se|me|te)(?: le| me| te| les)? pas(?:o|e|aste|amos|aron) (?:de|con)(?: la| las| el| los| su"
            r"| mi| sus| mis)? (?:dosis|droga|drogas|pastillas|cantidad|fentanilo|fenta|heroina|cristal|coca"
            r"|perico)|se (?:le|me|te|nos|les) (?:paso|fue) la mano|(?:me|se) excedi[a-z]*(?: con| de)",
            r"(?:se le|se me|le|me|nos) (?:fue|va|esta yendo|esta faltando|falta|acaba|acabo|corto|corta)"
            r" (?:el aire|la respiracion)|se (?:le|me) (?:esta yendo|fue|va) el color|(?:cambiando|cambio"
            r"|cambia)"
            r" de color|se (?:esta poniendo|puso) de colores|(?:le|me) falta (?:el )?aire|(?:no"
            r"|ya no) (?:le|me) (?:entra|llega) (?:el )?aire"
            r"|sin aire|no (?:puede|podia|pude|puedo) (?:agarrar|tomar|jalar|respirar) aire",
            r"se (?:desplom|derrumb)[a-z]*|cayo (?:redondo|desmayad[oa])"
            r"|(?:se cayo|se fue al piso|se fue al suelo|cayo al piso|cayo al suelo)(?: [a-z]+){0,4}"
            r" (?:temblando|tiembla|sacudiendo|se sacude"
            r"|convulsion[a-z]*|no se mueve|no respira|no responde|no reacciona|no despierta|morad[oa]"
            r"|palid[oa]|ties[oa]|rigid[oa]|espuma)",
            r"(?:tome|tomo|me tome|se tomo|trague|se trago|me meti|se metio)(?: [a-z]+){0,2}"
            r" (?:[5-9]|[1-9][0-9]|cinco|seis|siete|ocho|nueve|diez|doce|quince|veinte)"
            r" (?:pastillas|pastas|pildoras|tabletas|percs?|xanax|oxis?|rayas|lineas)",
            r"(?:tome|tomo|me tome|se tomo|me meti|se metio|fume|fumo|use|uso|consumi|consumio|me inyecte"
            r"|se inyecto)(?: [a-z0-9]+){0,4} (?:y|ahora|pero)(?: [a-z]+){0,3} (?:me siento (?:muy )?(?:mal"
            r"|rar[oa])|no (?:puedo|puede) respirar|no despierta|no reacciona|no responde"
            r"|esta (?:muy )?(?:mal"
            r"|rar[oa])|temblando|convulsion[a-z]*|morad[oa]|azul|palid[oa]|vomitando|se cayo|se desmayo"
            r"|se desplomo)",
            r"sin (?:respirar|pulso|reaccionar|responder|moverse|despertar|signos)",
            r"ojos en blanco|se le (?:voltearon|fueron|pusieron) los ojos|(?:temblando|tiembla|sacudiendose)"
            r"(?: [a-z]+){0,3} (?:y|con) (?:los ojos|espuma|no se mueve|no responde|no reacciona)",
            r"(?:(?:lo|la|los|las) encontre|encontre a [a-z]+(?: [a-z]+)?) (?:tirad[oa]s?|inconsciente"
            r"|desmayad[oa]|sin moverse)|(?:tirad[oa]|inconsciente|desmayad[oa])(?: [a-z]+){0,3} (?:jeringa"
            r"|aguja)",
            r"(?:se |)(?:quedo|puso|esta poniendo|ve|siente|esta quedando|esta)(?: muy| bien| todo| toda)?"
            r" (?:tieso|tiesa|rigid[oa]|palid[oa]|blanc[oa]|helad[oa]|morad[oa]|gris|azul)"
            r"|(?:tieso|tiesa|rigid[oa]|palid[oa]|fri[oa]|helad[oa]) y (?:fri[oa]|helad[oa]|palid[oa]|tieso"
            r"|tiesa|morad[oa])|(?:tieso|tiesa|rigid[oa]|palid[oa]|helad[oa]|morad[oa]) y no",
            r"se (?:le )?paso (?:de|con) (?:la dosis|la droga|las drogas|las pastillas)|se le paso la mano",
            r"naloxona|narcan",
            r"(?:tomo|tome|se tomo|me tome|trago|se trago) (?:un|el|una|todo el|toda la) (?:frasco|bote"
            r"|botella|caja"
            r"|paquete)",
            r"(?:llamar|llamen|llama|llame|llamamos|llamo) (?:al|a la) (?:911|ambulancia)|ambulancia"
            r"|paramedicos"
            r"|(?:es|hay|tengo|tenemos) una emergencia",
        ),
    },
}

# A wish not to wake up is suicidal words, not someone who will not wake: the wished end (the
# group) is taken out before the emergency patterns run ("i want to sleep and never wake up",
# "quisiera no despertar", "nadie me extrañaría si me muero"); an overdose beside it still counts.
WISHES = (
    r"(?:want|wanna|wants|wish|wished|hope|hoping|rather|ready|going|gonna|just|trying|tryna|pray|praying)"
    rf"(?: to)?{WISH_GAP} ((?:never|not|dont|wont) (?:ever )?wake up(?: again)?)",
    r"sleep and ((?:never|not) wake up)",
    r"feel(?:s|ing)? like (dying|dieing)",
    r"(?:quiero|quisiera|ojala|ganas de|prefiero|preferiria|deseo|me gustaria|solo quiero)(?: [a-z]+){0,4}"
    r" (no (?:despertar|despertarme|volver a despertar|amanecer))",
    r"para (?:ya )?(no (?:despertar|despertarme|volver a despertar|amanecer))",
    r"si (me muero|me muriera)",
    r"(?:thinking|thought|thoughts|think|dreaming) (?:about|of|bout)(?: [a-z]+){0,2} (dying|death)",
)

# Words whose misspellings are corrected before matching, and the words they stand for.
FUZZY_TARGETS = (
    "overdose",
    "overdosed",
    "overdosing",
    "unresponsive",
    "breathing",
    "breathe",
    "seizure",
    "seizing",
    "naloxone",
    "narcan",
    "ambulance",
    "unconscious",
    "collapsed",
    "gurgling",
    "suicide",
    "suicidal",
    "myself",
    "sobredosis",
    "respirando",
    "respirar",
    "respira",
    "inconsciente",
    "desmayado",
    "desmayada",
    "reacciona",
    "responde",
    "despierta",
    "naloxona",
    "convulsiones",
    "ambulancia",
    "suicidio",
    "suicidarme",
    "matarme",
    "morirme",
    "muriendo",
)
# Real words one or two edits from a target: never "corrected" ("esperando" is not "respirando").
KNOWN = frozenset(
    {"breath", "breaths", "breathed", "breather", "response", "respond", "responds", "responded"}
    | {"seized", "seizes", "collapse", "collages", "answered", "conscious", "narrow", "marrow"}
    | {"mysql", "myths", "itself", "himself", "herself", "yourself", "thyself", "oneself"}
    | {"esperando", "esperar", "espera", "espere", "esperen", "respeto", "respuesta", "responder"}
    | {"despierto", "despiertas", "reaccion", "naranja", "matarte", "matarlo", "matarla", "morirse"}
    | {"muriendo", "mudando", "moriste", "aspira", "respire", "inspira", "expira", "mirando"}
    | {"desmayo", "desayuno", "desayunar", "resolver", "responsive", "suicide", "seizure", "overdo"}
    | {"recibiendo", "sufriendo", "durmiendo", "riendo", "corriendo", "viendo", "comiendo", "pidiendo"}
    | {"overdue", "overcome", "overdrive", "ambulant", "suicides", "mercedes", "morirte"}
    | {"subsidio", "respetando", "breaking", "bathing", "gargling", "despertar", "despertarme"}
    # English words of nine letters or more two edits from a target (from a frequency dictionary).
    | {"responses", "respondent", "responders", "reactions", "preaching", "bleaching", "breaching"}
    | {"broaching", "breeching", "sheathing", "overcoming", "overjoyed", "overusing", "imbalance"}
    | {"subconscious", "sizing", "seining"}
)
# Short spellings too far from their word for the typo rule, read as the word they stand for.
ALIASES = {
    "qiero": "quiero",
    "quero": "quiero",
    "qero": "quiero",
    "kero": "quiero",
    "kiero": "quiero",
    "matarr": "matar",
    "morrir": "morir",
    "morirr": "morir",
    "wnt": "want",
    "wamt": "want",
    "whant": "want",
    "wana": "wanna",
    "wanan": "wanna",
    "lfe": "life",
    "lyfe": "life",
    "lif": "life",
    "wakeing": "waking",
    "wakng": "waking",
    "wakin": "waking",
    "seizer": "seizure",
    "seizers": "seizure",
    "seazure": "seizure",
    "breathin": "breathing",
    "breating": "breathing",
    "respondin": "responding",
    "respondng": "responding",
}
MIN_FUZZY = 5  # shorter words have too many neighbours to correct safely
_BOUND = "(?<![a-z0-9]){}(?![a-z0-9])"
_COMPILED = {
    kind: {
        language: re.compile(_BOUND.format("(?:" + "|".join(f"(?:{p})" for p in patterns) + ")"))
        for language, patterns in languages.items()
    }
    for kind, languages in PATTERNS.items()
}
_TARGETS = frozenset(FUZZY_TARGETS)
_IDIOMS = re.compile(_BOUND.format("(?:" + "|".join(f"(?:{p})" for p in IDIOMS) + ")"))
_WISHES = re.compile(_BOUND.format("(?:" + "|".join(f"(?:{p})" for p in WISHES) + ")"))


@lru_cache(maxsize=4096)
def correct(word: str) -> str:
    """Return the danger word a misspelt word stands for, or the word itself."""
    if len(word) < MIN_FUZZY or word in KNOWN or word in _TARGETS or not word.isalpha():
        return word
    limit = 1 if len(word) < 9 else 2
    found = extractOne(word, FUZZY_TARGETS, scorer=OSA.distance, score_cutoff=limit)
    return found[0] if found else word


def squeeze(word: str) -> str:
    """Shorten letters typed three or more times in a row ("overdosinggg", "morirmeee")."""
    return re.sub(r"([a-z])\1{2,}", r"\1", word) if len(word) > 2 else word


def canonical(folded: str) -> str:
    """Return a normalised text with stretched letters shortened and misspelt danger words fixed."""
    return " ".join(correct(ALIASES.get(word) or squeeze(word)) for word in folded.split())


def _without_wishes(text: str) -> str:
    """Return a text with the wished end of each wish not to wake up taken out."""

    def cut(match: re.Match) -> str:
        end = next(i for i in range(1, len(match.groups()) + 1) if match.group(i) is not None)
        start, stop = match.start(end) - match.start(), match.end(end) - match.start()
        return match.group()[:start] + "." + match.group()[stop:]

    return _WISHES.sub(cut, text)


def screened(folded: str) -> str:
    """Return a normalised text read for danger: typos fixed, ordinary sayings taken out."""
    text = canonical(folded)
    return _IDIOMS.sub(".", text) if _IDIOMS.search(text) else text


def read_danger(folded: str) -> tuple[str | None, str | None, bool]:
    """Return the danger in a normalised text, the language its words are in, and whether both.

    The kind is "emergency" when the text has emergency words, even if it also has suicidal ones
    ("i took too many pills i want to die": 911 first, an overdose can kill within minutes); the
    third value then says suicidal words were there too, so the answer can give 988 as well.
    """
    if not folded:
        return None, None, False
    text = screened(folded)
    found: dict[str, str | None] = {}
    for kind, languages in _COMPILED.items():
        seen = _without_wishes(text) if kind == "emergency" else text
        hits = [language for language, pattern in languages.items() if pattern.search(seen)]
        if hits:
            found[kind] = "es" if hits == ["es"] else None  # "od", "narcan": any language
    if "emergency" in found:
        return "emergency", found["emergency"], "crisis" in found
    if "crisis" in found:
        return "crisis", found["crisis"], False
    return None, None, False


def is_crisis(folded: str) -> bool:
    """Tell whether a normalised text holds suicidal words."""
    text = screened(folded)
    return any(pattern.search(text) for pattern in _COMPILED["crisis"].values())
