package nlp

import "strings"

// antonymPairs is the built-in list of opposite words, one "a b" pair per entry, read in both directions.
// It favours the vocabulary of claims and findings (quantities, directions of effect, evaluation,
// biology, economics) over literary opposites, because a claim and its contradiction usually differ in
// exactly such a word. Entries are stemmed when the table is built, so "increases"/"decreased" match
// "increase"/"decrease". Words productively negated by "un-" or "non-" need no entry (see negPrefixed).
// No entry may be a stopword or a cue word (negations, quantifiers): the tests check it.
var antonymPairs = []string{
	// Quantity and direction of change.
	"increase decrease", "increase reduce", "increase decline", "increase drop", "increase fall",
	"increase cut", "increase lower", "increase diminish", "increase shrink", "increase lessen",
	"increment decrement", "gain loss", "gain lose", "rise fall", "rise decline", "rise drop", "rise sink",
	"raise lower", "raise cut", "raise reduce", "grow shrink", "growth decline", "growth shrinkage",
	"expand contract", "expand shrink", "expansion contraction", "expansion recession", "ascend descend",
	"ascending descending", "climb fall", "climb descend", "soar plummet", "surge plunge", "boom bust",
	"boost reduce", "boost lower", "boost weaken", "boost cut", "hike cut", "elevate lower",
	"elevated reduced", "elevated decreased", "elevated lowered", "elevated depressed", "high low",
	"higher lower", "highest lowest", "more less", "more fewer", "maximum minimum",
	"maximal minimal", "maximize minimize", "max min", "majority minority", "large small",
	"larger smaller", "largest smallest", "big small", "bigger smaller", "biggest smallest",
	"huge tiny", "plus minus", "add remove", "add subtract", "addition removal",
	"addition subtraction", "multiply divide", "widen narrow", "wide narrow", "broad narrow",
	"lengthen shorten", "extend shorten", "long short", "longer shorter", "longest shortest",
	"tall short", "deep shallow", "thick thin", "heavy light", "heavier lighter", "dense sparse",
	"abundant scarce", "abundance scarcity", "plenty scarcity", "surplus deficit", "surplus shortage",
	"excess deficit", "excess deficiency", "excess shortage", "excessive deficient",
	"sufficient deficient", "overweight underweight", "overestimate underestimate",
	"overvalued undervalued", "overexpression underexpression", "overexpressed underexpressed",
	"upregulate downregulate", "upregulation downregulation", "upregulated downregulated",
	"up down", "upward downward", "upwards downwards", "upper lower", "above below", "above beneath",
	"top bottom", "inflate deflate", "inflation deflation", "appreciate depreciate",
	"appreciation depreciation", "accelerate decelerate", "accelerate slow", "acceleration deceleration",
	"fast slow", "faster slower", "fastest slowest", "quick slow", "quickly slowly", "rapid slow",
	"rapidly slowly", "hasten delay", "accelerate delay", "early late", "earlier later",
	"earliest latest", "before after", "first last", "begin end", "beginning end", "start stop",
	"start finish", "start end", "open close", "open closed", "enter exit", "entrance exit",
	"arrive depart", "arrival departure", "forward backward", "forwards backwards", "ahead behind",
	"advance retreat", "progress regress", "progressive regressive", "past future", "previous next",
	"ancient modern", "old new", "old young", "older younger", "oldest youngest",
	"amplify attenuate", "amplification attenuation", "strengthen weaken", "strong weak",
	"stronger weaker", "strongest weakest", "strongly weakly", "strength weakness", "tighten loosen",
	"tighten ease", "concentrate dilute", "concentrated diluted", "full empty", "crowded empty",
	"gather scatter", "together apart", "join separate", "merge split", "unite divide", "combine separate",
	"include exclude", "inclusion exclusion", "inclusive exclusive", "include omit",
	"import export", "input output", "inflow outflow", "influx efflux", "absorb emit", "absorb release",
	"absorption emission", "buy sell", "buyer seller", "lend borrow", "lender borrower",
	"creditor debtor", "credit debit", "asset liability", "income expense", "profit loss",
	"profitable loss", "send receive", "push pull", "attach detach", "assemble disassemble",
	"build destroy", "create destroy", "construct demolish", "construction destruction",
	"encode decode", "encrypt decrypt", "compress decompress", "hire fire", "employer employee",
	"cheap expensive", "inexpensive expensive", "cheap costly", "affordable expensive",

	// Evaluation and truth.
	"good bad", "better worse", "best worst", "improve worsen", "improve impair", "improve deteriorate",
	"improvement deterioration", "improvement decline", "improved worsened", "enhance impair",
	"enhance diminish", "enhance reduce", "positive negative", "positively negatively", "true false",
	"truth falsehood", "truth lie", "correct incorrect", "correct wrong", "right wrong",
	"accurate inaccurate", "valid invalid", "validity invalidity", "fact fiction", "real fake",
	"genuine fake", "authentic fake", "real imaginary", "confirm refute", "confirm deny", "confirm reject",
	"prove disprove", "verify falsify", "support refute", "support oppose", "support undermine",
	"supportive opposed", "affirm deny", "admit deny", "accept reject", "accept refuse", "acceptance rejection",
	"approve reject", "approve disapprove", "approval rejection", "approval disapproval", "agree disagree",
	"agreement disagreement", "consistent inconsistent", "consistency inconsistency", "success failure",
	"succeed fail", "successful failed", "pass fail", "win lose", "winner loser", "victory defeat",
	"superior inferior", "superiority inferiority", "outperform underperform", "optimistic pessimistic",
	"optimism pessimism", "bullish bearish", "praise criticize", "praise blame", "reward punish",
	"reward punishment", "advantage disadvantage", "benefit harm",
	"beneficial harmful", "beneficial detrimental", "beneficial adverse", "favorable unfavorable",
	"favourable unfavourable", "favorable adverse", "helpful harmful", "help harm", "help hurt",
	"harmful harmless", "harmful safe", "safe dangerous", "safe harmful", "safe risky", "safe toxic",
	"safe unsafe", "safety danger", "secure insecure", "secure vulnerable", "toxic harmless",
	"dangerous harmless", "protective harmful", "protective detrimental", "protect harm",
	"protect damage", "protection damage", "effective ineffective", "efficacious ineffective",
	"effectiveness ineffectiveness", "efficient inefficient", "efficiency inefficiency",
	"adequate inadequate", "sufficient insufficient", "appropriate inappropriate", "relevant irrelevant",
	"significant insignificant", "significantly insignificantly", "important unimportant",
	"important trivial", "necessary unnecessary", "essential nonessential", "optional mandatory",
	"optional required", "voluntary mandatory", "voluntary compulsory", "voluntary involuntary",
	"possible impossible", "probable improbable", "likely unlikely", "certain uncertain", "certainty uncertainty",
	"sure unsure", "known unknown", "clear unclear", "clear ambiguous", "explicit implicit",
	"obvious subtle", "simple complex", "simple complicated", "easy difficult", "easy hard",
	"easier harder", "hard soft", "rational irrational", "regular irregular", "normal abnormal",
	"typical atypical", "common rare", "frequent rare", "frequent infrequent", "frequently rarely",
	"ordinary extraordinary", "usual unusual", "legal illegal", "lawful unlawful", "legalize ban",
	"legalize prohibit", "allow forbid", "allow prohibit", "allow ban", "allow deny", "permit forbid",
	"permit prohibit", "permit ban", "grant deny", "guilty innocent", "convict acquit",
	"conviction acquittal", "honest dishonest", "moral immoral", "responsible irresponsible",
	"reversible irreversible", "mature immature", "perfect imperfect", "pure impure", "complete incomplete",
	"completed incomplete", "compatible incompatible", "competent incompetent", "capable incapable",
	"visible invisible", "visible hidden", "reveal conceal", "reveal hide", "show hide", "expose conceal",
	"public private", "global local", "remote local", "foreign domestic", "urban rural",
	"natural artificial", "natural synthetic", "organic inorganic", "permanent temporary",
	"constant variable", "fixed variable", "static dynamic", "stable unstable", "stable volatile",
	"stability instability", "stabilize destabilize", "random systematic", "random deterministic",
	"order chaos", "orderly chaotic", "objective subjective", "absolute relative", "abstract concrete",
	"general specific", "qualitative quantitative", "direct indirect", "directly indirectly",
	"dependent independent", "dependence independence", "active inactive", "activity inactivity",
	"present absent", "presence absence", "exist vanish", "appear disappear", "remember forget",
	"find lose", "similar dissimilar", "similar different", "same different", "identical different",
	"equal unequal", "symmetric asymmetric", "linear nonlinear", "homogeneous heterogeneous",
	"continuous discontinuous", "continue discontinue", "continue stop", "continue cease",
	"connect disconnect", "connected disconnected", "comfort discomfort", "happy sad", "happiness sadness",
	"joy sorrow", "pleasure pain", "love hate", "love hatred", "like dislike", "friend enemy",
	"friend foe", "ally enemy", "ally foe", "friendly hostile", "war peace", "hero villain",
	"calm anxious", "calm agitated", "relaxed tense", "brave cowardly", "wise foolish", "smart stupid",
	"intelligent stupid", "polite rude", "generous stingy", "humble arrogant",
	"modest arrogant", "rich poor", "wealthy poor", "wealth poverty", "win defeat",

	// Physical and everyday opposites.
	"hot cold", "warm cool", "warmer cooler", "warming cooling", "heat cool", "heating cooling",
	"light dark", "bright dark", "bright dim", "black white", "day night", "sunrise sunset",
	"dawn dusk", "morning evening", "summer winter", "north south", "east west", "inside outside",
	"internal external", "inner outer", "interior exterior", "intracellular extracellular",
	"endogenous exogenous", "front back", "vertical horizontal", "convex concave", "wet dry",
	"moist dry", "flood drought", "clean dirty", "fresh stale", "fresh rotten", "raw cooked",
	"sweet sour", "sweet bitter", "sharp dull", "sharp blunt", "shiny dull", "smooth rough",
	"loud quiet", "noisy quiet", "noise silence", "asleep awake", "sleep wake", "alive dead",
	"alive deceased", "live die", "survive die", "survival death", "survival mortality", "birth death",
	"healthy sick", "healthy ill", "healthy diseased", "health disease", "male female", "man woman",
	"men women", "boy girl", "husband wife", "father mother", "son daughter", "brother sister",
	"king queen", "predator prey", "odd even", "parallel perpendicular", "ancestor descendant",
	"attack defend", "offense defense", "offensive defensive", "attract repel", "attraction repulsion",
	"democracy dictatorship", "democratic authoritarian", "freedom slavery", "arrest release",
	"capture release",

	// Biology and medicine.
	"inhibit promote", "inhibit stimulate", "inhibit activate", "inhibit enhance", "inhibit induce",
	"inhibit facilitate", "inhibition activation", "inhibition stimulation", "inhibition promotion",
	"inhibition induction", "inhibitor activator", "inhibitory excitatory", "inhibitory stimulatory",
	"inhibit excite", "suppress promote", "suppress enhance", "suppress activate", "suppress induce",
	"suppress stimulate", "suppression activation", "suppressor activator", "repress activate",
	"repression activation", "repressor activator", "activate deactivate", "activate inactivate",
	"activation deactivation", "activation inactivation", "agonist antagonist", "agonism antagonism",
	"synergistic antagonistic", "promote prevent", "prevent cause", "prevent induce", "prevent trigger",
	"cause cure", "facilitate impede", "facilitate hinder", "enable prevent", "enable disable",
	"enabled disabled", "exacerbate alleviate", "exacerbate ameliorate", "exacerbate relieve",
	"worsen alleviate", "worsen relieve", "worsen ameliorate", "aggravate relieve", "aggravate alleviate",
	"damage repair", "injure heal", "relapse remission", "progression remission", "progression regression",
	"malignant benign", "acute chronic", "resistant susceptible", "resistance susceptibility",
	"resistant sensitive", "resistance sensitivity", "immune susceptible", "tolerant intolerant",
	"tolerance intolerance", "sensitive insensitive", "sensitize desensitize", "soluble insoluble",
	"permeable impermeable", "hydrophilic hydrophobic", "polar nonpolar", "aerobic anaerobic",
	"acidic alkaline", "acidic basic", "hypertension hypotension", "hyperglycemia hypoglycemia",
	"hyperthyroidism hypothyroidism", "hyperactivity hypoactivity", "hyperpolarization depolarization",
	"polarize depolarize", "hydrate dehydrate", "hydrated dehydrated", "hydration dehydration",
	"methylation demethylation", "acetylation deacetylation", "phosphorylation dephosphorylation",
	"phosphorylate dephosphorylate", "contract relax", "contraction relaxation", "constrict dilate",
	"constriction dilation", "vasoconstriction vasodilation", "anabolic catabolic",
	"anabolism catabolism", "endothermic exothermic", "proximal distal", "anterior posterior",
	"dorsal ventral", "medial lateral", "ipsilateral contralateral", "afferent efferent",
	"dominant recessive", "homozygous heterozygous", "infectious noninfectious",
	"invasive noninvasive", "toxic nontoxic", "lethal nonlethal", "fatal nonfatal", "mortality survival",
	"associated unassociated", "related unrelated", "correlated uncorrelated", "linked unlinked",
	"detectable undetectable", "detected undetected", "treated untreated", "vaccinated unvaccinated",
	"controlled uncontrolled", "randomized nonrandomized", "smoker nonsmoker", "responder nonresponder",
	"obese lean", "sedentary active", "fit unfit",
}

// antonyms maps a stem to the stems of its opposites.
var antonyms = buildAntonyms(antonymPairs)

func buildAntonyms(pairs []string) map[string][]string {
	m := make(map[string][]string, 2*len(pairs))
	add := func(a, b string) {
		for _, x := range m[a] {
			if x == b {
				return
			}
		}
		m[a] = append(m[a], b)
	}
	for _, p := range pairs {
		a, b, ok := strings.Cut(p, " ")
		if !ok {
			continue
		}
		sa, sb := string(stem([]byte(a))), string(stem([]byte(b)))
		if sa == sb {
			continue
		}
		add(sa, sb)
		add(sb, sa)
	}
	return m
}
