"""The emergency safety net: fires on danger in four varieties, not on idioms."""
import pytest

from actions.safety_net import SafetyNet


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


def test_a_broken_pattern_names_the_file(tmp_path):
    bad = tmp_path / "net.yml"
    bad.write_text("patterns:\n  fr:\n    - '(unclosed'\n", encoding="utf-8")
    with pytest.raises(ValueError, match="net.yml"):
        SafetyNet.load(bad)
