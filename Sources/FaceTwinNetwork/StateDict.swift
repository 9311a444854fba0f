/// A value of the network's state dict: a float tensor (a parameter or a BatchNorm running
/// statistic), or a BatchNorm's `num_batches_tracked` counter (an int64 scalar in the file).
package enum StateValue {
    case tensor(Tensor)
    case batchesTracked(any BatchStatisticsTracking)
}

extension SiameseNetwork {
    /// Learnable parameters under their PyTorch state-dict names, in PyTorch's order.
    package var namedParameters: [(name: String, parameter: Parameter)] {
        cnn1.parameters.map { ("cnn1.\($0.name)", $0.parameter) } + fc1.parameters.map { ("fc1.\($0.name)", $0.parameter) }
            + (head?.parameters.map { ("head.\($0.name)", $0.parameter) } ?? [])
    }

    /// The state dict as PyTorch lists it: module by module (numbered as in `nn.Sequential`),
    /// its parameters, its buffers, then a BatchNorm's `num_batches_tracked`.
    package var stateDict: [(name: String, value: StateValue)] {
        func entries(_ container: String, _ modules: [Layer]) -> [(name: String, value: StateValue)] {
            modules.enumerated().flatMap { i, module -> [(name: String, value: StateValue)] in
                let prefix = "\(container).\(i)."
                var list = module.parameters.map { (prefix + $0.name, StateValue.tensor($0.parameter.value)) }
                list += module.buffers.map { (prefix + $0.name, StateValue.tensor($0.tensor)) }
                if let bn = module as? BatchStatisticsTracking {
                    list.append((prefix + "num_batches_tracked", .batchesTracked(bn)))
                }
                return list
            }
        }
        return entries("cnn1", cnn1.modules) + entries("fc1", fc1.modules) + entries("head", head?.modules ?? [])
    }

    /// Every floating-point tensor of the state dict (parameters and BatchNorm running
    /// statistics), in PyTorch's order; the counters are in `batchNorms`.
    package var stateTensors: [(name: String, tensor: Tensor)] {
        stateDict.compactMap { name, value in
            if case .tensor(let t) = value { return (name, t) }
            return nil
        }
    }
}
