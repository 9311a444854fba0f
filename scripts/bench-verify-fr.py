#!/usr/bin/env python3
"""What a face_recognition user writes to verify a photo against stored templates, for
scripts/bench.sh's cold-verify row of dlib's ResNet (FaceTwin's `facetwin verify` against this,
process start to answer).

  bench-verify-fr.py enroll TEMPLATES.json PHOTO...   the 128-d encodings of photos with exactly
                                                      one face (prints the photos it kept)
  bench-verify-fr.py verify TEMPLATES.json PROBE      one face found, encoded, the smallest
                                                      distance to the templates; prints JSON
                                                      {"isMatch", "distance", "threshold"}

face_recognition's defaults throughout: HOG detection with one upsampling, the 5-point landmark
model, one jitter, tolerance 0.6. Exit 0 match, 1 no match, 2 error.
"""
import json
import sys

import face_recognition
import numpy as np


def one_encoding(path):
    image = face_recognition.load_image_file(path)
    boxes = face_recognition.face_locations(image)
    if len(boxes) != 1:
        return None
    return face_recognition.face_encodings(image, known_face_locations=boxes)[0]


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("enroll", "verify"):
        sys.exit(__doc__)
    mode, templates = sys.argv[1], sys.argv[2]
    if mode == "enroll":
        kept = {}
        for path in sys.argv[3:]:
            encoding = one_encoding(path)
            if encoding is not None:
                kept[path] = encoding.tolist()
        json.dump(kept, open(templates, "w"))
        print("\n".join(kept))
        return 0
    known = np.array(list(json.load(open(templates)).values()))
    encoding = one_encoding(sys.argv[3])
    if encoding is None:
        print(f"{sys.argv[3]}: not exactly one face", file=sys.stderr)
        return 2
    distance = float(face_recognition.face_distance(known, encoding).min())
    print(json.dumps({"isMatch": distance <= 0.6, "distance": distance, "threshold": 0.6}))
    return 0 if distance <= 0.6 else 1


if __name__ == "__main__":
    sys.exit(main())
