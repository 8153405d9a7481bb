public import NIOCore

/// A handler with work to do once its connection is up: at `handlerAdded` when it joins a
/// channel that is active already, else at `channelActive`. Both can be called for one
/// channel, so `start(context:)` must do its work only the first time.
///
/// The defaults below take the place of NIO's own (which do nothing and only pass the
/// event on): a protocol that refines `ChannelInboundHandler` wins over it.
public protocol StartsWhenChannelActive: ChannelInboundHandler {
    /// The connection's first work; a second call does nothing.
    func start(context: ChannelHandlerContext)
}

extension StartsWhenChannelActive {
    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }
}
