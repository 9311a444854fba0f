#!/usr/bin/env python3
"""Makes Tests/FaceTwinTests/Fixtures/dlib-chips: dlib's own face chips of fixture photos, the
reference FaceChipper is held to pixel for pixel (FaceChipperTests).

For each photo: dlib's HOG detector (face_recognition's, upsampling once) gives the face
rectangle; dlib's 5-point shape predictor (face_recognition_models 0.3.0's
shape_predictor_5_face_landmarks.dat) its landmarks; dlib.get_face_chip(img, shape, 150, 0.25)
the chip, saved as PNG; dlib's face_recognition_model_v1.compute_face_descriptor(chip) its
descriptor. chips.json records per chip the photo, the SHA-256 of its decoded RGB pixels (so a
decoder difference is told apart from a chip difference), the rectangle, the landmarks (dlib's
integer pixel coordinates), the chip file and the descriptor.

Made with dlib's PyPI wheel in a virtual environment outside the repository:
    python3 -m venv /work/wt/venv-dlib
    /work/wt/venv-dlib/bin/pip install dlib-bin numpy pillow
    /work/wt/venv-dlib/bin/pip install --no-deps face-recognition \
        ~/.cache/facetwin/face_recognition_models-0.3.0.tar.gz
    /work/wt/venv-dlib/bin/python scripts/make-dlib-chip-fixture.py
"""
import hashlib
import json
import os

import dlib
import face_recognition
import face_recognition_models
import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIXTURES = os.path.join(ROOT, "Tests", "FaceTwinTests", "Fixtures")
OUT = os.path.join(FIXTURES, "dlib-chips")

# (photo under Fixtures, chip name, rectangle shift in pixels (dx, dy, grow)).
PHOTOS = [
    ("real-photos/astronaut.jpg", "astronaut", (0, 0, 0)),
    ("real-photos/astronaut.jpg", "astronaut-shifted", (7, -5, 12)),
    ("photos/s40/one.ppm", "s40", (0, 0, 0)),
]


def main():
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
    detector = dlib.get_frontal_face_detector()
    encoder = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())
    os.makedirs(OUT, exist_ok=True)
    records = []
    for photo, name, (dx, dy, grow) in PHOTOS:
        img = np.array(Image.open(os.path.join(FIXTURES, photo)).convert("RGB"))
        faces = detector(img, 1)
        if not faces:
            raise SystemExit(f"{photo}: no face found")
        face = max(faces, key=lambda r: r.area())
        rect = dlib.rectangle(face.left() + dx - grow, face.top() + dy - grow, face.right() + dx + grow,
                              face.bottom() + dy + grow)
        shape = predictor(img, rect)
        chip = dlib.get_face_chip(img, shape, size=150, padding=0.25)
        chip_file = f"{name}.png"
        Image.fromarray(chip).save(os.path.join(OUT, chip_file), optimize=True)
        records.append({
            "photo": photo,
            "pixels_sha256": hashlib.sha256(np.ascontiguousarray(img).tobytes()).hexdigest(),
            "rectangle": [rect.left(), rect.top(), rect.right(), rect.bottom()],
            "landmarks": [[shape.part(i).x, shape.part(i).y] for i in range(shape.num_parts)],
            "chip": chip_file,
            "descriptor": [round(float(v), 7) for v in encoder.compute_face_descriptor(chip)],
        })
    with open(os.path.join(OUT, "chips.json"), "w") as f:
        json.dump({"dlib": dlib.__version__, "size": 150, "padding": 0.25, "chips": records}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
