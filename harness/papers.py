"""The papers claims cite. Theorem numbers follow the arXiv version named here."""

from .claim import Paper

DZPS = Paper(
    key="du2018",
    title="Gradient Descent Provably Optimizes Over-parameterized Neural Networks",
    authors="Du, Zhai, Poczos, Singh",
    year=2018,
    arxiv="1810.02054",
    venue="ICLR 2019 (numbering of arXiv v2)",
)
ARORA2019 = Paper(
    key="arora2019",
    title="Fine-Grained Analysis of Optimization and Generalization for Overparameterized Two-Layer Neural Networks",
    authors="Arora, Du, Hu, Li, Wang",
    year=2019,
    arxiv="1901.08584",
    venue="ICML 2019",
)
DLLWZ = Paper(
    key="dllwz2019",
    title="Gradient Descent Finds Global Minima of Deep Neural Networks",
    authors="Du, Lee, Li, Wang, Zhai",
    year=2019,
    arxiv="1811.03804",
    venue="ICML 2019",
)
AZLS = Paper(
    key="azls2019",
    title="A Convergence Theory for Deep Learning via Over-Parameterization",
    authors="Allen-Zhu, Li, Song",
    year=2019,
    arxiv="1811.03962",
    venue="ICML 2019",
)
