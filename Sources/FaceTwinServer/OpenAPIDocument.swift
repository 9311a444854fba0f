/// The API's OpenAPI document, served at /v1/openapi.yaml; docs/openapi.yaml is the same text
/// (`ServerTests` holds the two together).
enum OpenAPIDocument {
    static let yaml = #"""
        openapi: 3.0.3
        info:
          title: FaceTwin
          version: "1"
          description: >
            The gallery of `facetwin serve` as a service: enroll photos into identities, verify a
            claimed identity, identify a face (top k, open set), compare two photos, and manage
            identities. Photos are sent as multipart/form-data (PGM, PPM, PAM, PNG, JPEG or WebP) and
            never stored; only their templates are. Every error is JSON, {"error": one line, "status": code}.
            Every request under /v1 (but this document) and /metrics needs an API key
            (Authorization: Bearer KEY, made by `facetwin keys add NAME --role admin|enroll|verify`)
            unless the server runs with --insecure-no-keys. Query parameter crop=true adds the aligned
            crop the model saw, as a PNG data URL.
        servers:
          - url: /
        security:
          - apiKey: []
        paths:
          /healthz:
            get:
              summary: Liveness check
              security: []
              responses:
                "200":
                  description: The server is up.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [status]
                        properties:
                          status: {type: string, enum: [ok]}
          /metrics:
            get:
              summary: Prometheus metrics (requests, latency, photos embedded, gallery size); any key
              responses:
                "200":
                  description: Prometheus text exposition.
                  content:
                    text/plain:
                      schema: {type: string}
                "401": {$ref: "#/components/responses/Unauthorized"}
          /v1/openapi.yaml:
            get:
              summary: This document
              security: []
              responses:
                "200":
                  description: The OpenAPI document.
                  content:
                    application/yaml:
                      schema: {type: string}
          /v1/model:
            get:
              summary: The served model and threshold (verify key)
              responses:
                "200":
                  description: The model.
                  content:
                    application/json:
                      schema: {$ref: "#/components/schemas/Model"}
                "401": {$ref: "#/components/responses/Unauthorized"}
          /v1/verify:
            post:
              summary: Is the person in the photo the claimed identity? (verify key)
              parameters:
                - $ref: "#/components/parameters/crop"
              requestBody:
                required: true
                content:
                  multipart/form-data:
                    schema:
                      type: object
                      required: [claim, photo]
                      properties:
                        claim: {type: string, description: The claimed identity's name.}
                        photo: {type: string, format: binary}
              responses:
                "200":
                  description: The verdict (match or not) with the distance and threshold.
                  content:
                    application/json:
                      schema: {$ref: "#/components/schemas/Verification"}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "404": {$ref: "#/components/responses/NotFound"}
                "409": {$ref: "#/components/responses/Conflict"}
                "413": {$ref: "#/components/responses/TooLarge"}
                "503": {$ref: "#/components/responses/Busy"}
          /v1/identify:
            post:
              summary: Who is in the photo? Top candidates, open set (verify key)
              parameters:
                - $ref: "#/components/parameters/crop"
                - name: top
                  in: query
                  description: How many candidates to return.
                  schema: {type: integer, minimum: 1, maximum: 100, default: 5}
              requestBody:
                required: true
                content:
                  multipart/form-data:
                    schema:
                      type: object
                      required: [photo]
                      properties:
                        photo: {type: string, format: binary}
              responses:
                "200":
                  description: The identity found (null when even the nearest is above the threshold) and the candidates.
                  content:
                    application/json:
                      schema: {$ref: "#/components/schemas/Identification"}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "404": {$ref: "#/components/responses/NotFound"}
                "409": {$ref: "#/components/responses/Conflict"}
                "413": {$ref: "#/components/responses/TooLarge"}
                "503": {$ref: "#/components/responses/Busy"}
          /v1/compare:
            post:
              summary: Are two photos of the same person? (verify key)
              parameters:
                - $ref: "#/components/parameters/crop"
              requestBody:
                required: true
                content:
                  multipart/form-data:
                    schema:
                      type: object
                      required: [photo1, photo2]
                      properties:
                        photo1: {type: string, format: binary}
                        photo2: {type: string, format: binary}
              responses:
                "200":
                  description: The verdict with the distance and threshold.
                  content:
                    application/json:
                      schema: {$ref: "#/components/schemas/Comparison"}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "413": {$ref: "#/components/responses/TooLarge"}
                "503": {$ref: "#/components/responses/Busy"}
          /v1/enroll:
            post:
              summary: Enroll photos of one person, all in one transaction (enroll key)
              description: >
                Photos without a usable face (none, several with faces=refuse, blank) are skipped and
                listed; another bad photo fails the enroll (nothing written) unless skip_bad=true.
                A photo already enrolled for the identity (same SHA-256) is a duplicate.
              parameters:
                - $ref: "#/components/parameters/crop"
                - name: skip_bad
                  in: query
                  description: Enroll the readable photos and list the others.
                  schema: {type: boolean, default: false}
              requestBody:
                required: true
                content:
                  multipart/form-data:
                    schema:
                      type: object
                      required: [name, photo]
                      properties:
                        name: {type: string, description: The identity (created when new).}
                        photo:
                          type: array
                          items: {type: string, format: binary}
              responses:
                "200":
                  description: Photos added to an existing identity.
                  content:
                    application/json:
                      schema: {$ref: "#/components/schemas/Enrollment"}
                "201":
                  description: A new identity enrolled.
                  content:
                    application/json:
                      schema: {$ref: "#/components/schemas/Enrollment"}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "409": {$ref: "#/components/responses/Conflict"}
                "413": {$ref: "#/components/responses/TooLarge"}
                "503": {$ref: "#/components/responses/Busy"}
          /v1/identities:
            get:
              summary: Every identity with its template count and dates (enroll key)
              responses:
                "200":
                  description: The identities, in natural name order.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [identities, templateCount]
                        properties:
                          identities:
                            type: array
                            items: {$ref: "#/components/schemas/IdentitySummary"}
                          templateCount: {type: integer}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
          /v1/identities/{name}:
            parameters:
              - name: name
                in: path
                required: true
                schema: {type: string}
            get:
              summary: One identity's templates (enroll key)
              responses:
                "200":
                  description: The identity's templates, in enrollment order (no embeddings).
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [name, templates]
                        properties:
                          name: {type: string}
                          templates:
                            type: array
                            items:
                              type: object
                              required: [id, photo, sha256, enrolledAt]
                              properties:
                                id: {type: integer}
                                photo: {type: string}
                                sha256: {type: string}
                                enrolledAt: {type: string, format: date-time}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "404": {$ref: "#/components/responses/NotFound"}
            delete:
              summary: Remove an identity and its templates (admin key)
              responses:
                "200":
                  description: Removed.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [removed, templates]
                        properties:
                          removed: {type: string}
                          templates: {type: integer}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "404": {$ref: "#/components/responses/NotFound"}
            patch:
              summary: Rename an identity, keeping its templates (admin key)
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [name]
                      properties:
                        name: {type: string, description: The new name.}
              responses:
                "200":
                  description: Renamed.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [renamed, to]
                        properties:
                          renamed: {type: string}
                          to: {type: string}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "404": {$ref: "#/components/responses/NotFound"}
                "409": {$ref: "#/components/responses/Conflict"}
                "413": {$ref: "#/components/responses/TooLarge"}
        components:
          securitySchemes:
            apiKey:
              type: http
              scheme: bearer
          parameters:
            crop:
              name: crop
              in: query
              description: Add the aligned crop the model saw (PNG data URL).
              schema: {type: boolean, default: false}
          responses:
            BadRequest:
              description: A photo that cannot be used (undecodable, no face, several faces), or a malformed request.
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Error"}
            Unauthorized:
              description: No API key, or one the gallery does not have.
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Error"}
            Forbidden:
              description: The key's role does not allow the request.
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Error"}
            NotFound:
              description: No such identity (or an empty gallery).
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Error"}
            Conflict:
              description: The name is taken, or the gallery's templates do not fit the model.
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Error"}
            TooLarge:
              description: The body, a photo's bytes or its pixels are over the limit.
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Error"}
            Busy:
              description: Every worker busy and the queue full, or shutting down.
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Error"}
          schemas:
            Error:
              type: object
              required: [error, status]
              properties:
                error: {type: string, description: One line, as the CLI words it.}
                status: {type: integer}
            Model:
              type: object
              required: [fingerprint, format, embeddingSize, inputWidth, inputHeight, color, threshold, thresholdMethod, detect, faces, galleryCreatedAt]
              properties:
                fingerprint: {type: string}
                format: {type: string, enum: [dlib-resnet, twin]}
                embeddingSize: {type: integer}
                inputWidth: {type: integer}
                inputHeight: {type: integer}
                color: {type: boolean}
                threshold: {type: number}
                thresholdMethod: {type: string}
                detect: {type: string}
                faces: {type: string}
                galleryCreatedAt: {type: string, format: date-time}
            ErrorEstimate:
              type: object
              description: How often such a distance was wrong on the model's calibration pairs.
              additionalProperties: true
            Verification:
              type: object
              required: [claim, match, distance, threshold, thresholdMethod, score, templatesCompared]
              properties:
                claim: {type: string}
                match: {type: boolean}
                distance: {type: number}
                threshold: {type: number}
                thresholdMethod: {type: string}
                score: {type: string, enum: [min, mean]}
                templatesCompared: {type: integer}
                headScore: {type: number}
                matchProbability: {type: number}
                errorEstimate: {$ref: "#/components/schemas/ErrorEstimate"}
                crop: {type: string, description: "data:image/png;base64,…"}
            Candidate:
              type: object
              required: [name, distance, minDistance, meanDistance, templateCount, isMatch]
              properties:
                name: {type: string}
                distance: {type: number}
                minDistance: {type: number}
                meanDistance: {type: number}
                templateCount: {type: integer}
                isMatch: {type: boolean}
                headScore: {type: number}
                matchProbability: {type: number}
            Identification:
              type: object
              required: [threshold, thresholdMethod, candidates, identitiesCompared]
              properties:
                identity: {type: string, nullable: true}
                threshold: {type: number}
                thresholdMethod: {type: string}
                candidates:
                  type: array
                  items: {$ref: "#/components/schemas/Candidate"}
                identitiesCompared: {type: integer}
                crop: {type: string}
            Comparison:
              type: object
              required: [match, distance, threshold, thresholdMethod]
              properties:
                match: {type: boolean}
                distance: {type: number}
                threshold: {type: number}
                thresholdMethod: {type: string}
                headScore: {type: number}
                matchProbability: {type: number}
                crops:
                  type: array
                  items: {type: string}
            Skipped:
              type: object
              required: [path, reason]
              properties:
                path: {type: string}
                reason: {type: string}
            Enrollment:
              type: object
              required: [identity, isNewIdentity, enrolled, duplicates, skipped, templateCount]
              properties:
                identity: {type: string}
                isNewIdentity: {type: boolean}
                enrolled:
                  type: array
                  items: {type: string}
                duplicates:
                  type: array
                  items: {$ref: "#/components/schemas/Skipped"}
                skipped:
                  type: array
                  items: {$ref: "#/components/schemas/Skipped"}
                templateCount: {type: integer}
                crops:
                  type: object
                  additionalProperties: {type: string}
            IdentitySummary:
              type: object
              required: [name, templateCount, enrolledAt]
              properties:
                name: {type: string}
                templateCount: {type: integer}
                enrolledAt: {type: string, format: date-time}
                lastEnrolledAt: {type: string, format: date-time}

        """#
}
