"""The emergency safety net: fires on danger in four varieties, not on idioms."""
import pytest

from core.safety_net import SafetyNet


@pytest.fixture(scope="module")
def net():
    return SafetyNet.load()


@pytest.mark.parametrize("text", [
    "ghadi y9telni", "rah m3ah mous", "3te9ni daba", "rah kaydrebni daba", "kaykser lbab",
    "غادي يقتلني", "عتقوني", "معاه جنوية", "كيضربني دابا", "كيكسر الباب",
    "سيقتلني", "إنه يحمل سكينا", "أنقذوني", "يكسر الباب",
    "il va me tuer", "au secours", "il a un couteau", "il défonce la porte", "je veux mourir",
    "bghit nmout", "بغيت نموت",
])
def test_danger_fires(net, text):
    assert net.match(text), text


@pytest.mark.parametrize("text", [
    "9telni b d7k", "ghadi nmout b joo3", "3te9ni b chi recharge", "قتلني بالضحك",
    "je meurs de rire", "ce film me tue", "khassni mus bach n9ta3 lkhodra", "salam labas",
    "dba7na l7awli f l3id",
])
def test_idioms_do_not_fire(net, text):
    assert net.match(text) is None, text


# One case per rule family added for issues 14 and 19, in every script.
@pytest.mark.parametrize("text", [
    # danger
    "Ana f khatar daba", "ana fi khatar", "rani f 5atar", "ra f khtar", "f khatar daba", "7yati f khatar",
    "La, ana f khatar", "أنا فخطر دابا", "راني ف خطر", "حياتي فخطر", "أنا في خطر الآن", "لا، أنا في خطر",
    "Je suis en danger", "jsuis en danger", "Non, je suis en danger", "danger",
    # confinement now
    "rajli 7bsni f dar ma khllanich nkhrej", "sedd 3liya lbab w mcha", "ana m7bousa f lbit",
    "ma khllanich nkhrej", "حبسني فالدار", "سد عليا الباب بالساروت", "أنا محبوسة في الغرفة",
    "حبسني في البيت", "il m'a enfermée dans la chambre", "je suis séquestrée",
    # threat: he is coming, being followed, a weapon
    "rah jay l dar bach y9tel", "ja bach ydrebni", "راه جاي باش يضربني", "il arrive pour me frapper",
    "chi wa7d tab3ni daba", "3afak dghya rah tal3 lia", "راه طالع ليا بالموس", "شي واحد تابعني دابا", "quelqu'un me suit maintenant", "il est en route j'ai peur",
    "rah m3ah zerwata", "عندو مسدس", "il a sorti un pistolet",
    # call the police / gendarmerie
    "3ayt llbolis", "3ayto l police", "3eyto 3la jadarmiya", "عيط للبوليس", "عيطو على الجدارمية",
    "اتصلوا بالشرطة", "أرسلوا الشرطة إلى بيتي", "appelez la police", "appelle les gendarmes",
    "envoyez la police chez moi", "ghadi y9telni ila mchit", "ghadi y9telni 😭",
    # "help!" in one word, repeated letters and punctuation
    "3ta9!", "3TA99!!", "3te9", "a3ta9 a3ta9", "3tqouni 3tqouni", "3awnouni daba", "ajiw dghya 3afakom", "أجيو دغيا", "تعالوا بسرعة", "venez vite svp", "عتاق!", "عتاااق!!", "عتقووووني", "عاونوني!!",
    "النجدة", "ساعدوني بسرعة", "à l'aide", "aidez-moi", "help me!", "au secours il me frappe",
    # hit on the head and fainted
    "drbni f rasi w ghbt", "ضربني فراسي وسخفت", "il m'a frappée à la tête et je me suis évanouie",
    "ضربني على رأسي حتى فقدت الوعي",
    # blood running from her head or face
    # beaten and thrown out
    "drbni w trdni mn dar", "rajli drbni w jrani mn dar m3a lwlad", "ضربني وطردني من الدار",
    "راجلي ضربني ولاحني برا", "ضربني زوجي وطردني من البيت", "il m'a frappée et m'a mise dehors",
    "il m'a jetée dehors après m'avoir battue",
    "drbni f rasi w rasi kaynzel dem", "ddem khraj mn rasi", "الدم خارج من راسي بزاف", "راسي كينزل منو الدم",
])
def test_new_danger_families_fire(net, text):
    assert net.match(text), text


# The same words in ordinary sentences: negated, about things, or idioms.
@pytest.mark.parametrize("text", [
    "ana machi f khatar daba", "ma b9itch f khatar lhamdolilah", "أنا ماشي فخطر", "je ne suis plus en danger",
    "had tri9 fiha khatar", "خطر ببالي نعيط ليك",
    "khditi sos, daba", "chmn no3 dial sos?", "help m3a l homework", "help je sais pas quoi mettre ce soir",
    "3te9oni mn had s5ana 🥵", "عتقوني من هاد الحرارة 🥵", "au secours mon wifi marche plus 😂",
    "أنقذني بقليل من السكر أريد إعداد الشاي", "النجدة نسيت كلمة سر الويفي 😂",
    "عاونوني بالاشتراك فالقناة", "3awnouni f had tamrin", "ostad ghadi y9telna b les exams",
    "le prof va nous tuer avec ce controle", "كيتبعني فكاع الريزو", "je suis suivie par un médecin",
    "wach n3ayet l bolis?", "est-ce que je dois appeler la police", "نعيط للبوليس ولا لشي جمعية",
    "يحبسني في البيت ولا يسمح لي بالخروج", "il m'enferme a la maison", "kaysedd 3liya f dar",
    "drbni lberd 🤧", "ضربني البرد", "venez vite voir le bébé marcher", "help", "عندي امتحان غدا عاونيني", "شاركو الفيديو عاونوني",
    "mama ghadi t9telni ila 3rfat bli klit l7elwa hhhh", "إلا عرف بابا بالنقطة غادي يقتلني هههه",
    "mon père va me tuer quand il verra ma note mdr", "الصداع يقتلني اليوم", "le crédit m'étrangle ce mois ci",
    "wach ila sedd 3liya f dar kay3tabar 3onf", "trdni mn lkhdma lmodir", "طردوني من الخدمة",
    "il m'a mise dehors du groupe whatsapp", "drbni lberd w ma khrjtch", "tl3 lia dem 7it ma klitch", "تحليل الدم خرج مزيان", "كيتبعوني ف الزنقة و كيقولو ليا كلام خايب", "أخي يضربني ويمنعني من الخروج",
])
def test_same_words_in_ordinary_sentences_do_not_fire(net, text):
    assert net.match(text) is None, text


def test_an_unknown_fragment_names_the_file(tmp_path):
    bad = tmp_path / "net.yml"
    bad.write_text("patterns:\n  fr:\n    - 'x<<nope>>'\n", encoding="utf-8")
    with pytest.raises(ValueError, match="net.yml.*nope"):
        SafetyNet.load(bad)


def test_a_broken_pattern_names_the_file(tmp_path):
    bad = tmp_path / "net.yml"
    bad.write_text("patterns:\n  fr:\n    - '(unclosed'\n", encoding="utf-8")
    with pytest.raises(ValueError, match="net.yml"):
        SafetyNet.load(bad)


@pytest.mark.parametrize("text,ordinary", [
    ("drbatni chems f lb7ar", True), ("ضربني البرد", True), ("une insolation, un coup de soleil", True),
    ("le petit m'a tapée avec sa peluche mdr", True), ("ختي غادي تقتلني هههه", True),
    ("rajli kaydrebni", False), ("ضربني راجلي البارح", False), ("il me frappe quand il boit", False),
    ("drbni w ana 7amla", False),
    ("weldi kaydrebni b lmkhedda w kayd7k", True), ("ابني الصغير يضربني بالوسادة", True),
    ("mon bébé me tape avec son doudou", True), ("3ta9ni b chi stylo 3afak", True),
    ("عتقني بشي روشارج", True), ("عتقوني من هاد الحرارة", True), ("3te9oni mn had s5ana", True),
    ("الأسعار كتقتل والشعب ساكت", True),
    ("kaydrebni b sm6a", False), ("3ta9ni mn rajli", False), ("عتقوني من راجلي", False),
    ("yakhne9ni b lmkhedda", False), ("il me frappe avec sa ceinture", False),
])
def test_ordinary_uses_of_violent_words(net, text, ordinary):
    assert net.is_ordinary(text) is ordinary, text
