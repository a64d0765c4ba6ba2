#!/usr/bin/env python3
"""METEOR goldens from meteor-1.5.jar, through pycocoevalcap's own wrapper.

Runs pycocoevalcap.meteor.meteor.Meteor (java -jar meteor-1.5.jar - - -stdio -l en -norm) on
three sets and writes, under Tests/CaptionMetricsTests/Fixtures/meteor/:

  fakecap.json       the coco-caption toolkit's fakecap example (1,000 images), on the PTB
                     tokenization stored in fakecap-expected.json (as COCOEvalCap feeds it)
  val2014.json.gz    the first N val2014 images (default 5,000) in the references' image order:
                     the held-out human caption against the other human captions, PTB-tokenized
  hostile.json       a hand-written set of hostile captions, sent to the wrapper as written
                     (its inputs are in the file, so the Swift test needs nothing else)
  stems.tsv          "word<TAB>stem" for every distinct lower-cased word of the three sets and a
                     list of words that exercise each rule, stemmed by the jar's own Snowball
                     English stemmer class (tools/MeteorStems.java, run with java -cp meteor-1.5.jar)

For every image: the statistics line the jar returned for SCORE (its 23 numbers as printed), and
the per-image score the jar returned for EVAL; and the corpus score (the EVAL line's last answer,
which is what pycocoevalcap reports as METEOR). The image order is the order sent to the jar.

    pip install pycocoevalcap==1.2      # ships meteor-1.5.jar and data/paraphrase-en.gz; needs java
    python3 tools/make_meteor_goldens.py [DATA_DIR] [--images N] [--only SET] [--time]

DATA_DIR defaults to $NIGHTCAP_COCO_DATA, else ../shared/data/coco-captions beside the clone.
With --time it only times pycocoevalcap's METEOR (JVM start and data load included) on the
val2014 set of --images images and prints the seconds (used by bench/meteor/run.sh).
--only fakecap|val2014|hostile|stems makes one file.
"""
import gzip, json, os, subprocess, sys, time

from pycocoevalcap.meteor.meteor import Meteor

here = os.path.dirname(os.path.abspath(__file__))
args = [a for a in sys.argv[1:] if not a.startswith("--")]
count = 5000
if "--images" in sys.argv:
    count = int(sys.argv[sys.argv.index("--images") + 1])
    args = [a for a in args if a != str(count)]
only = None
if "--only" in sys.argv:
    only = sys.argv[sys.argv.index("--only") + 1]
    args = [a for a in args if a != only]
data = args[0] if args else os.environ.get(
    "NIGHTCAP_COCO_DATA", os.path.join(here, "..", "..", "shared", "data", "coco-captions"))
out_dir = os.path.join(here, "..", "Tests", "CaptionMetricsTests", "Fixtures", "meteor")


def load_gz(name):
    with gzip.open(os.path.join(data, name), "rt") as f:
        return json.load(f)


def val2014(n):
    """(order, gts, res) as tools/coco_expected.py builds them, cut to the first n images."""
    ptb = {}
    for row in load_gz("val2014-ptb-tokenized.json.gz"):
        ptb.setdefault((row["image_id"], row["raw"]), []).append(row["ptb"])
    refs = load_gz("val2014-minus-heldout.json.gz")
    results = load_gz("val2014-heldout-human-results.json.gz")
    res_by_image = {r["image_id"]: r["caption"] for r in results}
    anns = {}
    for a in refs["annotations"]:
        anns.setdefault(a["image_id"], []).append(a["caption"])
    order = [img["id"] for img in refs["images"] if img["id"] in res_by_image and img["id"] in anns][:n]
    gts = {i: [ptb[(i, c)][0] for c in anns[i]] for i in order}
    res = {i: [ptb[(i, res_by_image[i])][0]] for i in order}
    return order, gts, res


def run(gts, res):
    """The wrapper's compute_score, also keeping the SCORE statistics line of every image."""
    meteor = Meteor()
    stats = []
    original = meteor._stat

    def recording(hypothesis, references):
        line = original(hypothesis, references)
        stats.append(line)
        return line

    meteor._stat = recording
    corpus, scores = meteor.compute_score(gts, res)
    del meteor
    return corpus, scores, stats


def golden(name, order, gts, res, extra=None, include_inputs=False):
    corpus, scores, stats = run({i: gts[i] for i in order}, {i: res[i] for i in order})
    images = []
    for i, score, line in zip(order, scores, stats):
        row = {"image_id": i, "stats": line, "score": score}
        if include_inputs:
            row["references"] = gts[i]
            row["hypothesis"] = res[i][0]
        images.append(row)
    doc = {
        "tool": "tools/make_meteor_goldens.py: pycocoevalcap 1.2 meteor.Meteor (meteor-1.5.jar -stdio -l en -norm)",
        "set": name,
        "images": len(images),
        "corpus": corpus,
        "per_image": images,
    }
    if extra:
        doc.update(extra)
    return doc


def hostile_cases():
    """Captions that stress normalisation, matching stages and the aligner. Each: (references, hypothesis)."""
    long_a = " ".join(["a man in a red shirt is riding a bike down the street next to a bus"] * 4)
    long_b = " ".join(["the person wearing red rides a bicycle along a road beside the big bus"] * 4)
    cases = [
        # synonyms (WordNet), other word forms (stems, exceptions), multi-word paraphrases
        (["a large dog runs on the grass"], "a big canine running on the lawn"),
        (["two men are riding horses"], "two man rode a horse"),
        (["the children were playing in the mice field"], "a child is plays with the mouse"),
        (["a woman is preparing food in the kitchen"], "a lady prepares a meal inside a kitchen"),
        (["a man is talking on the phone"], "a guy speaks on a telephone"),
        (["a photo of a cat sitting on top of a car"], "a picture of a kitty seated atop an automobile"),
        (["people are standing around a table with food on it"], "a group of people stand around the table full of food"),
        (["a train is going down the tracks"], "a locomotive travels along the railway"),
        (["he is in order to go to the store"], "he wants so as to go to the shop"),
        (["a couple of people walking along the beach"], "two people walk on the shore"),
        # upper case, punctuation runs, quotes, contractions, non-breaking prefixes
        (["A MAN Riding A Horse On The Beach."], "a man riding a horse on the beach"),
        (["Mr. Smith's dog, Dr. Who's cat... and St. Bernard!!!"], "mr. smith 's dog , dr. who 's cat and st. bernard"),
        (["wow!!! what a \"great\" view?! (really)"], "Wow... what a great view -- really!"),
        (["it's a dog's life, isn't it?"], "its a dogs life isnt it"),
        (["``quoted'' text and 'single' quotes"], "\u201cquoted\u201d text and \u2018single\u2019 quotes"),
        (["the U.S.A. and e.g. the U.K. are countries"], "the usa and eg the uk are countries"),
        (["No. 5 is on p. 12, Fig. 3"], "number 5 is on page 12 figure 3"),
        (["a sign that says: STOP; then turn left/right & go"], "a stop sign that says turn left or right and go"),
        # digits and decimals
        (["3.14 is about 22/7 and 1,000,000 is a million"], "3.14 is roughly 22 / 7 and 1000000 is one million"),
        (["a clock showing 10:30 on 12.05.2015"], "a clock that shows 10 30 on 12 05 2015"),
        (["2 dogs and 3 cats and 4.5 birds"], "two dogs and three cats and 4.5 birds"),
        # accented and non-Latin letters
        (["a caf\u00e9 with cr\u00e8me br\u00fbl\u00e9e and a pi\u00f1ata"], "a cafe with creme brulee and a pinata"),
        (["CAF\u00c9 \u00c0 LA CR\u00c8ME"], "caf\u00e9 \u00e0 la cr\u00e8me"),
        (["\u0441\u043e\u0431\u0430\u043a\u0430 \u0431\u0435\u0436\u0438\u0442 \u043f\u043e \u0442\u0440\u0430\u0432\u0435"], "\u0421\u043e\u0431\u0430\u043a\u0430 \u0431\u0435\u0436\u0438\u0442"),
        (["\u72d7\u5728\u8349\u5730\u4e0a\u8dd1 a dog"], "\u72d7 \u5728 \u8349\u5730 \u4e0a \u8dd1 a dog"),
        (["\u03ba\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1 \u039a\u039f\u03a3\u039c\u0395"], "\u039a\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1 \u03ba\u03cc\u03c3\u03bc\u03b5"),
        (["na\u00efve fa\u00e7ade of the \u00e9cole"], "naive facade of the ecole"),
        (["a man with an emoji \U0001F600 on his shirt"], "a man with a \U0001F600 shirt"),
        # a literal ||| (the wrapper removes it from the hypothesis only)
        (["a dog ||| on a couch"], "a dog ||| on a couch"),
        (["a cat on a mat"], "||| a cat ||| on a mat |||"),
        (["a |||cat||| on a mat", "a cat on the mat"], "a cat|||on a mat"),
        # repeated words
        (["a a a a dog dog dog"], "a dog a dog a dog a"),
        (["the the the the the"], "the"),
        (["dog dog dog dog dog dog dog dog"], "dog dog dog dog dog dog dog dog dog dog dog dog"),
        (["a man and a man and a man and a woman"], "a woman and a man and a man"),
        # empty captions
        (["a dog on a couch"], ""),
        ([""], "a dog on a couch"),
        (["", "a dog on a couch"], "a dog on the couch"),
        ([""], ""),
        (["   "], "."),
        # 60-word captions
        ([long_a], long_b),
        ([long_a, long_b], long_a),
        ([" ".join(["dog"] * 30 + ["cat"] * 30)], " ".join(["cat", "dog"] * 30)),
        # hyphenated words
        (["a black-and-white photo of a double-decker bus"], "a black and white photo of a double decker bus"),
        (["a well-known self-driving car--fast"], "a well known self driving car - fast"),
        (["state-of-the-art t-shirt x-ray"], "state of the art tshirt xray"),
        (["a - dash and -- double dash and \u2013 en dash"], "a dash and double dash and en dash"),
        # several references and ties (first of equal scores wins)
        (["a dog", "a dog", "the dog"], "a dog"),
        (["a cat sitting", "a cat is sitting", "cat sitting"], "a cat sitting down"),
        (["a red bus", "red bus a"], "bus a red"),
        # reordering (chunks) and function words only
        (["on the table is a cat"], "a cat is on the table"),
        (["of the and a in"], "in a and the of"),
        (["a man throwing a frisbee in a park"], "in a park a frisbee a man is throwing"),
        # exact identical strings (only the exact module runs)
        (["a man riding a wave on top of a surfboard"], "a man riding a wave on top of a surfboard"),
        (["Tabs\tand  double  spaces"], "tabs and double spaces"),
    ]
    return cases


# Words that exercise the stemmer's rules and exceptions (Porter2's own examples among them).
RULE_WORDS = """
consign consigned consigning consignment consist consisted consistency consistent consistently
consisting consists consolation consolations consolatory console consoled consoles consolidate
consolidated consolidating consoling consolingly consols consonant consort consorted consorting
conspicuous conspicuously conspiracy conspirator conspirators conspire conspired conspiring
constable constables constance constancy constant knack knackeries knacks knag knave knaves
knavish kneaded kneading knee kneel kneeled kneeling kneels knees knell knelt knew knick knif
knife knight knightly knights knit knits knitted knitting knives knob knobs knock knocked knocker
knockers knocking knocks knopp knot knots skis skies sky dying lying tying idly gently ugly early
only singly news howe atlas cosmos bias andes inning innings outing outings canning cannings
herring herrings earring earrings proceed proceeds proceeded proceeding exceed exceeding succeed
succeeding generate generates generated generating general generally generic generically
generous generously communal communism communication communicate arsenic arsenal arsenals
'tis 'hood o'clock dog's dogs' cats's yes youth yelled enjoy enjoying saying sayings played
cry cries cried crying tie ties tied by say boy boys toy toyed happy happily happiness
hopping hoped hoping hopeful filing filed fizzed fizzing agreed agreement disagreement feed
feeding bleed speed caress caresses ponies ties gas gaps kiwis us bus famous luxuriate
rational relational conditional valenci hesitanci digitizer conformabli radicalli differentli
vileli analogousli vietnamization predication operator feudalism decisiveness hopefulness
callousness formaliti sensitiviti sensibiliti electriciti triplicate formative formalize
electrical hopeful goodness revival allowance inference airliner gyroscopic adjustable
defensible irritant replacement adjustment dependent adoption homologou communism activate
angulariti homologous effective bowdlerize probate rate cease controll roll fall ball doll
a an at is ab aa ee ooo yyy yay ayy y'all ma'am
""".split()


def stems(words):
    """The jar's englishStemmer on each word (tools/MeteorStems.java)."""
    import pycocoevalcap
    jar = os.path.join(list(pycocoevalcap.__path__)[0], "meteor", "meteor-1.5.jar")
    source = os.path.join(here, "MeteorStems.java")
    text = "".join(w + "\n" for w in words)
    out = subprocess.run(["java", "-cp", jar, source], input=text.encode("utf-8"), capture_output=True, check=True)
    lines = out.stdout.decode("utf-8").split("\n")
    return [tuple(line.split("\t")) for line in lines if line]


def main():
    os.makedirs(out_dir, exist_ok=True)
    if "--time" in sys.argv:
        order, gts, res = val2014(count)
        t0 = time.time()
        meteor = Meteor()
        corpus, _ = meteor.compute_score(gts, res)
        elapsed = time.time() - t0
        print("pycocoevalcap METEOR: %.2f s on %d images (corpus %.6f)" % (elapsed, len(order), corpus))
        return

    vocabulary = set(RULE_WORDS)

    def collect(gts, res):
        for captions in list(gts.values()) + list(res.values()):
            for caption in captions:
                vocabulary.update(caption.lower().split())

    # (a) fakecap, on the tokenization COCOEvalCap produced (stored with the toolkit's scores).
    with open(os.path.join(data, "fakecap-expected.json")) as f:
        fake = json.load(f)
    gts = {int(k): v for k, v in fake["tokenized"]["gts"].items()}
    res = {int(k): v for k, v in fake["tokenized"]["res"].items()}
    order = [int(k) for k in fake["tokenized"]["gts"].keys()]
    collect(gts, res)
    if only not in (None, "fakecap"):
        doc = None
    else:
        doc = golden("fakecap", order, gts, res)
    if doc and abs(doc["corpus"] - fake["corpus"]["METEOR"]) > 1e-12:
        sys.exit("fakecap corpus %r differs from fakecap-expected.json's %r" % (doc["corpus"], fake["corpus"]["METEOR"]))
    if doc:
        with open(os.path.join(out_dir, "fakecap.json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))
        print("fakecap", len(order), doc["corpus"])

    # (b) val2014: the held-out human caption against the other human captions.
    order, gts, res = val2014(count)
    collect(gts, res)
    if only in (None, "val2014"):
        write_val2014(order, gts, res)

    # (c) the hostile set, sent as written.
    cases = hostile_cases()
    order = list(range(1, len(cases) + 1))
    gts = {i: refs for i, (refs, _) in zip(order, cases)}
    res = {i: [hyp] for i, (_, hyp) in zip(order, cases)}
    collect(gts, res)
    if only in (None, "hostile"):
        doc = golden("hostile", order, gts, res, include_inputs=True)
        with open(os.path.join(out_dir, "hostile.json"), "w") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
        print("hostile", len(order), doc["corpus"])

    # (d) the jar's stems of every word.
    if only in (None, "stems"):
        pairs = stems(sorted(w for w in vocabulary if "\t" not in w))
        with open(os.path.join(out_dir, "stems.tsv"), "w", encoding="utf-8") as f:
            for word, stem in pairs:
                f.write(word + "\t" + stem + "\n")
        print("stems", len(pairs))


def write_val2014(order, gts, res):
    doc = golden("val2014", order, gts, res, {
        "results": "val2014-heldout-human-results.json.gz",
        "references": "val2014-minus-heldout.json.gz",
        "tokenization": "val2014-ptb-tokenized.json.gz (first PTB form of each caption)",
        "order": "the first %d images of the references' images list that have a held-out caption" % len(order),
    })
    with gzip.open(os.path.join(out_dir, "val2014.json.gz"), "wt") as f:
        json.dump(doc, f, separators=(",", ":"))
    print("val2014", len(order), doc["corpus"])


main()
