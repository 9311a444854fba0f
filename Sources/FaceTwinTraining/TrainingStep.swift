/// The forward, loss and backward of one batch of pairs: the network's training forward of
/// both twins, the contrastive loss and its gradient with respect to the embeddings, and the
/// network's backward from that gradient, adding into the parameters' gradients (the optimizer
/// is the caller's: zero the gradients before, update after).
package final class TrainingStep {
    package let network: SiameseNetwork
    package let loss: ContrastiveLoss
    /// The loss's gradient with respect to the embeddings, [2B, dim], reused between steps.
    var gradEmbeddings: Tensor?

    /// Whether the twin (`cnn1`, `fc1`) is trained. When false (a frozen backbone), the twin
    /// embeds in evaluation mode (BatchNorm on its running statistics, nothing kept for a
    /// backward), no backward runs through it and none of its gradients is ever allocated: only
    /// the score head learns.
    package let trainsBackbone: Bool

    /// Throws ``TrainingError/backbone(_:)`` (``BackboneError/nothingToTrain``) for a frozen
    /// backbone (`trainsBackbone` false) under a network without a score head.
    package init(network: SiameseNetwork, loss: ContrastiveLoss, trainsBackbone: Bool = true) throws(TrainingError) {
        guard trainsBackbone || network.head != nil else { throw .backbone(.nothingToTrain) }
        self.network = network
        self.loss = loss
        self.trainsBackbone = trainsBackbone
    }

    /// The twin's embeddings of a batch: its training forward (both twins' halves normalized
    /// apart with `pairs`), or with a frozen backbone its evaluation forward.
    private func embed(_ images: Tensor, pairs: Bool) -> Tensor {
        guard trainsBackbone else { return network.forwardOnce(images, mode: .evaluation) }
        return pairs ? network.forwardPairs(images) : network.forwardBatch(images)
    }

    /// The twin's backward from the embeddings' gradient, unless the backbone is frozen.
    private func backward(_ grad: Tensor) {
        if trainsBackbone { network.backwardPairs(grad) }
    }

    /// What one step on pairs gives.
    package struct Output {
        package let loss: Float
        /// The batch's embeddings [2B, dim] (first B rows: first twins), which belong to the
        /// network until its next pass.
        package let embeddings: Tensor
    }

    /// One step on `images` [2B, 1, H, W] (the pairs' first images, then their second images)
    /// with `labels` (1 for a pair of different people): the loss and the embeddings.
    @discardableResult
    package func run(images: Tensor, labels: [Float]) -> Output {
        let b = labels.count, dim = network.config.embeddingSize
        precondition(images.shape[0] == 2 * b, "\(images.shape[0]) images for \(b) pairs")
        let emb = embed(images, pairs: true)
        let grad = Tensor.reuse(gradEmbeddings, shape: [2 * b, dim])
        gradEmbeddings = grad
        if let head = network.head {
            let pairs = labels.enumerated().map {
                IdentityBatchSampler.MinedPair(first: $0.offset, second: b + $0.offset, label: $0.element)
            }
            let value = head.contrastive(
                embeddings: emb.pointer, dim: dim, pairs: pairs, rows: 2 * b, margin: loss.margin, gradient: grad.pointer)
            backward(grad)
            return Output(loss: value, embeddings: emb)
        }
        let value = loss.evaluate(
            first: emb.pointer, second: emb.pointer + b * dim, dim: dim, labels: labels,
            gradFirst: grad.pointer, gradSecond: grad.pointer + b * dim)
        network.backwardPairs(grad)
        return Output(loss: value, embeddings: emb)
    }
}

extension TrainingStep {
    /// One step on a batch of identities: `images` [N, 1, H, W] with each row's batch-local
    /// identity. Embeds the batch once (BatchNorm over the whole batch), mines every genuine
    /// pair and as many impostor pairs from the embeddings (`hardShare` of them the closest),
    /// and backpropagates the contrastive loss over those pairs. Returns the loss.
    func run(images: Tensor, identities: [Int], sampler: inout IdentityBatchSampler, hardShare: Double) -> Float {
        let n = images.shape[0], dim = network.config.embeddingSize
        precondition(identities.count == n, "\(identities.count) identities for \(n) images")
        let emb = embed(images, pairs: false)
        let e = emb.pointer
        let pairs = sampler.minePairs(identities: identities, hardShare: hardShare) { i, j in
            var sq: Float = 0
            for k in 0..<dim { let d = e[i * dim + k] - e[j * dim + k]; sq += d * d }
            return sq
        }
        let grad = Tensor.reuse(gradEmbeddings, shape: [n, dim])
        gradEmbeddings = grad
        let value =
            network.head?.contrastive(embeddings: e, dim: dim, pairs: pairs, rows: n, margin: loss.margin, gradient: grad.pointer)
            ?? loss.evaluate(embeddings: e, dim: dim, pairs: pairs, rows: n, gradient: grad.pointer)
        backward(grad)
        return value
    }
}
