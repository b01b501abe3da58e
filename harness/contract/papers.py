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
LEE2019 = Paper(
    key="lee2019",
    title="Wide Neural Networks of Any Depth Evolve as Linear Models Under Gradient Descent",
    authors="Lee, Xiao, Schoenholz, Bahri, Novak, Sohl-Dickstein, Pennington",
    year=2019,
    arxiv="1902.06720",
    venue="NeurIPS 2019",
)
CHIZAT2019 = Paper(
    key="chizat2019",
    title="On Lazy Training in Differentiable Programming",
    authors="Chizat, Oyallon, Bach",
    year=2019,
    arxiv="1812.07956",
    venue="NeurIPS 2019",
)
DRAXLER2018 = Paper(
    key="draxler2018",
    title="Essentially No Barriers in Neural Network Energy Landscape",
    authors="Draxler, Veschgini, Salmhofer, Hamprecht",
    year=2018,
    arxiv="1803.00885",
    venue="ICML 2018",
)
GARIPOV2018 = Paper(
    key="garipov2018",
    title="Loss Surfaces, Mode Connectivity, and Fast Ensembling of DNNs",
    authors="Garipov, Izmailov, Podoprikhin, Vetrov, Wilson",
    year=2018,
    arxiv="1802.10026",
    venue="NeurIPS 2018",
)
DAUPHIN2014 = Paper(
    key="dauphin2014",
    title="Identifying and attacking the saddle point problem in high-dimensional non-convex optimization",
    authors="Dauphin, Pascanu, Gulcehre, Cho, Ganguli, Bengio",
    year=2014,
    arxiv="1406.2572",
    venue="NeurIPS 2014",
)
KLEINBERG2018 = Paper(
    key="kleinberg2018",
    title="An Alternative View: When Does SGD Escape Local Minima?",
    authors="Kleinberg, Li, Yuan",
    year=2018,
    arxiv="1802.06175",
    venue="ICML 2018",
)
JASTRZEBSKI2017 = Paper(
    key="jastrzebski2017",
    title="Three Factors Influencing Minima in SGD",
    authors="Jastrzebski, Kenton, Arpit, Ballas, Fischer, Bengio, Storkey",
    year=2017,
    arxiv="1711.04623",
    venue="ICANN 2018",
)
CHAUDHARI2018 = Paper(
    key="chaudhari2018",
    title="Stochastic gradient descent performs variational inference, converges to limit cycles for deep networks",
    authors="Chaudhari, Soatto",
    year=2018,
    arxiv="1710.11029",
    venue="ICLR 2018",
)
DCLW2021 = Paper(
    key="dclw2021",
    title="Overparameterization of deep ResNet: zero loss and mean-field analysis",
    authors="Ding, Chen, Li, Wright",
    year=2021,
    arxiv="2105.14417",
    venue="JMLR 2022",
)
