from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ridgeline import Identification, Template

DESCRIPTOR_FILE: str
DESCRIPTOR_VERSION: int
HASH_NAME: str

Fingers = Union[Template, Mapping[int, Template]]

def normalise_id(subject_id: str) -> str: ...
def shard_of(subject_id: str, count: int) -> int: ...

class ShardedGallery:
    set_id: str
    dirs: List[str]
    @classmethod
    def create(
        cls,
        dirs: Sequence[str],
        *,
        shard_cpus: float = 1.0,
        actor_options: Optional[Union[Dict[str, Any], Sequence[Dict[str, Any]]]] = None,
        timeout_s: float = 120.0,
    ) -> ShardedGallery: ...
    @classmethod
    def open(
        cls,
        dirs: Sequence[str],
        *,
        shard_cpus: float = 1.0,
        actor_options: Optional[Union[Dict[str, Any], Sequence[Dict[str, Any]]]] = None,
        timeout_s: float = 120.0,
    ) -> ShardedGallery: ...
    def enroll(self, id: str, fingers: Fingers, *, check_duplicate: bool = True, fmr_per_search: float = 1e-4) -> int: ...
    def enroll_many(self, records: Iterable[Tuple[str, Fingers]]) -> int: ...
    def remove(self, id: str) -> int: ...
    def identify(self, fingers: Fingers, top: int = 5, fmr_per_search: float = 1e-4) -> Identification: ...
    def get(self, id: str) -> Dict[int, Template]: ...
    def __len__(self) -> int: ...
    def len(self) -> int: ...
    def shard_lens(self) -> List[int]: ...
    def stats(self) -> List[Dict[str, Any]]: ...
    def verify(self) -> List[Dict[str, Any]]: ...
    @property
    def shard_actors(self) -> List[Any]: ...
    def close(self) -> None: ...
    def __enter__(self) -> ShardedGallery: ...
    def __exit__(self, *exc: object) -> None: ...

class DistributedDedup:
    gallery_dir: str
    job_dir: str
    block_records: int
    records: int
    blocks: List[Tuple[int, int]]
    run_id: str
    def __init__(
        self,
        gallery_dir: str,
        job_dir: str,
        fmr: float = 1e-4,
        *,
        exhaustive: bool = False,
        candidates: int = 64,
        block_records: int = 512,
        task_cpus: float = 1.0,
        max_retries: int = 3,
        task_options: Optional[Dict[str, Any]] = None,
        timeout_s: Optional[float] = None,
    ) -> None: ...
    def status(self) -> Dict[str, int]: ...
    def run(self, *, max_tasks: Optional[int] = None) -> Optional[Dict[str, Any]]: ...

def dedup(gallery_dir: str, job_dir: str, fmr: float = 1e-4, **options: Any) -> Dict[str, Any]: ...
