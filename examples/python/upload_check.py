"""A FastAPI-style upload check: bytes in -> verdict and class -> propagated bytes out.

``check_upload`` has the shape of a FastAPI handler body (``await file.read()`` gives the
bytes); FastAPI itself is optional. With FastAPI installed, ``app`` serves it:

    uvicorn upload_check:app        # POST /upload with a file field "file"

Run directly, it checks the bundled samples and a labelled copy.
"""

from pathlib import Path
from typing import Any, Dict, Optional

import aigc_label

PLATFORM = "001191110108551385082Q20000"  # the distribution platform's provider code


def check_upload(data: bytes, filename: str, upload_id: str, declared: bool = False,
                 signer: Optional[aigc_label.SigningKey] = None) -> Dict[str, Any]:
    """Inspects an upload held in memory and runs the platform's step on it. Returns what the
    platform shows and stores: the verdict, the class, the decision, and the bytes to store."""
    try:
        report = aigc_label.inspect_bytes(data, name=filename)
    except aigc_label.AigcLabelError as e:
        return {"status": 422, "error": str(e)}
    stored, outcome = aigc_label.propagate_bytes(
        data, PLATFORM, upload_id, declared=declared, signer=signer, name=filename
    )
    return {
        "status": 200,
        "verdict": report.verdict,               # compliant / non-compliant / unlabelled
        "class": outcome.label_class,            # is / possibly / suspected / None
        "decision": outcome.decision,            # keep / declared / suspected / nothing / refused
        "reason": outcome.reason,
        "show_ai_notice": outcome.label_class is not None,
        "stored_bytes": stored,
    }


try:  # pragma: no cover - only with FastAPI installed
    from fastapi import FastAPI, Form, UploadFile

    app = FastAPI()

    @app.post("/upload")
    async def upload(file: UploadFile, upload_id: str = Form(...), declared: bool = Form(False)):
        result = check_upload(await file.read(), file.filename or "-", upload_id, declared)
        result.pop("stored_bytes", None)  # store it in your object store instead
        return result
except ImportError:
    app = None


if __name__ == "__main__":
    samples = Path(__file__).resolve().parents[1] / "samples"
    png = (samples / "sample.png").read_bytes()
    labelled = aigc_label.embed_bytes(png, "001191440300708461136T1XGW3", "img-1")
    for name, data, declared in [("plain.png", png, False), ("declared.png", png, True),
                                 ("labelled.png", labelled, False), ("junk.bin", b"junk", False)]:
        result = check_upload(data, name, f"up-{name}", declared)
        result.pop("stored_bytes", None)
        print(name, result)
