"""Staging a dataset on Fireworks, content-addressed: the dataset ``ftops-<sha256[:20]>`` is the file's content.

1. ``GET`` it: READY is reused as it is (nothing is sent); UPLOADING (an upload that did not finish) is uploaded
   again into the same dataset; absent, it is created (``datasetId`` in the body; a 409 means someone else just
   did: fine).
2. Upload: ``:upload`` (multipart, up to 150 MB), or ``:getUploadEndpoint`` and a streamed ``PUT`` to the signed
   URL it answers (without Fireworks' key; https only, or plain http to loopback, which the local emulator uses).
3. The bytes are hashed while they are sent; when they are not the planned sha256 the dataset is deleted and the
   apply refuses (the file changed after the plan). Otherwise ``:validateUpload`` makes it READY.

Every step is idempotent for the dataset's id, so after a passing failure of a step that is not retried by itself
(a create, an upload, a validation) the whole sequence simply runs again, from the GET.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import httpx

from ftops.errors import DatasetError, NotFoundError, ProviderError
from ftops.filehash import HashingReader
from ftops.providers.answers import mapping, text
from ftops.providers.base import RemoteFile
from ftops.providers.fireworks import dataset_id
from ftops.providers.http import TransientError, log_request
from ftops.trust import plain_http_problem

if TYPE_CHECKING:
    from ftops.providers.fireworks.client import FireworksClient

log = logging.getLogger("ftops.provider")
SIMPLE_UPLOAD_LIMIT = 150 * 1024 * 1024  # ":upload can handle file sizes up to 150Mb"
CHUNK = 1 << 20


def count_examples(path: Path) -> int:
    """Non-blank lines (the exampleCount Fireworks wants from the client), read in chunks."""
    count, tail = 0, b""
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            count += sum(1 for line in lines if line.strip())
    return count + (1 if tail.strip() else 0)


class Stager:
    def __init__(self, client: FireworksClient, *, transport=None, simple_upload_limit: int = SIMPLE_UPLOAD_LIMIT):
        self.client = client
        self.http = client.http
        self.simple_upload_limit = simple_upload_limit
        self._signed = httpx.Client(timeout=httpx.Timeout(600.0, connect=10.0), transport=transport,
                                    follow_redirects=False)  # no Fireworks headers: the URL is its own credential

    def close(self) -> None:
        self._signed.close()

    def _path(self, ds_id: str) -> str:
        return f"{self.client.root}/datasets/{ds_id}"

    def _name(self, ds_id: str) -> str:
        return f"accounts/{self.client.account}/datasets/{ds_id}"

    def _state(self, ds_id: str) -> str | None:
        data = self.client.get_or_none(self._path(ds_id))
        return None if data is None else (text(mapping(data).get("state")) or "STATE_UNSPECIFIED")

    def ready(self, name: str) -> bool:
        """Whether the dataset ``name`` (a resource name) exists and is READY (an unfinished upload is not)."""
        if not name.startswith(f"accounts/{self.client.account}/datasets/"):
            return False
        return self._state(name.rsplit("/", 1)[-1]) == "READY"

    def stage(self, path: Path, sha256: str) -> RemoteFile:
        ds_id = dataset_id(sha256)
        size = path.stat().st_size
        policy = self.http.policy
        for attempt in range(policy.max_retries + 1):
            state = self._state(ds_id)  # a GET: retried inside the HTTP client, a failure here is final
            try:
                if state == "READY":
                    return RemoteFile(self._name(ds_id), size, path.name, reused=True)
                if state is None:
                    self._create(ds_id, path)
                elif state != "UPLOADING":
                    log.info("dataset %s is %s; uploading its content again", ds_id, state)
                self._upload(ds_id, path, size, sha256)
                self.http.json("POST", f"{self._path(ds_id)}:validateUpload", json={}, retry=False)
                return RemoteFile(self._name(ds_id), size, path.name)
            except TransientError as exc:
                if attempt >= policy.max_retries:
                    raise
                delay = policy.delay(attempt, None)
                log.info("staging %s failed (%s); again in %.2fs (each step is idempotent)", ds_id, exc, delay)
                policy.sleep(delay)
        raise AssertionError("unreachable")

    def _create(self, ds_id: str, path: Path) -> None:
        body = {"datasetId": ds_id, "dataset": {"displayName": path.name[:63], "userUploaded": {}, "format": "CHAT",
                                               "exampleCount": str(count_examples(path))}}
        try:
            self.http.json("POST", f"{self.client.root}/datasets", json=body, retry=False)
        except ProviderError as exc:
            if exc.status != 409:  # 409: it exists (another apply, or our own lost answer): upload into it
                raise

    def _upload(self, ds_id: str, path: Path, size: int, sha256: str) -> None:
        with HashingReader(path) as reader:
            if size <= self.simple_upload_limit:
                self.http.json("POST", f"{self._path(ds_id)}:upload", files={"file": (path.name, reader,
                                                                                     "application/jsonl")},
                               retry=False)
            else:
                self._upload_signed(ds_id, path.name, size, reader)
            if not reader.sent_matches(sha256):
                raise self._changed(path, ds_id)

    def _upload_signed(self, ds_id: str, filename: str, size: int, reader: HashingReader) -> None:
        answer = self.http.json("POST", f"{self._path(ds_id)}:getUploadEndpoint",
                                json={"filenameToSize": {filename: str(size)}}, retry=False)
        url = text(mapping(mapping(answer).get("filenameToSignedUrls")).get(filename))
        if not url:
            raise ProviderError(f"the upload endpoint of dataset {ds_id} answered no URL for {filename}",
                                provider=self.client.name)
        problem = plain_http_problem(url)
        if problem:
            raise ProviderError(f"the signed upload URL {problem}", provider=self.client.name)

        def chunks() -> Iterator[bytes]:
            while chunk := reader.read(CHUNK):
                yield chunk

        sent = time.perf_counter()
        try:
            response = self._signed.put(url, content=chunks(), headers={
                "content-type": "application/octet-stream", "content-length": str(size),
                "x-goog-content-length-range": f"{size},{size}"})
            log_request("PUT", httpx.URL(url), response.status_code, time.perf_counter() - sent)
        except httpx.TransportError as exc:
            log_request("PUT", httpx.URL(url), type(exc).__name__, time.perf_counter() - sent)
            raise TransientError(f"uploading {filename}: {type(exc).__name__}: {exc}",
                                 provider=self.client.name) from None
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise TransientError(f"uploading {filename} to its signed URL: HTTP {response.status_code}",
                                 status=response.status_code, provider=self.client.name)
        if response.status_code >= 400:
            raise ProviderError(f"uploading {filename} to its signed URL: HTTP {response.status_code}: "
                                f"{response.text[:200]}", status=response.status_code, provider=self.client.name)

    def _changed(self, path: Path, ds_id: str) -> DatasetError:
        try:
            self.http.request("DELETE", self._path(ds_id), retry=False)
        except (NotFoundError, ProviderError) as exc:
            log.info("could not delete dataset %s after a changed upload: %s", ds_id, exc)
        return DatasetError(f"{path}: the file changed after the plan was made (its bytes no longer match the "
                            "planned sha256); nothing was trained on it", hint="run `ftops plan` again")
