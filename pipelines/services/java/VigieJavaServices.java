// The Java side of Vigie's cross-language transforms (Kafka IO), served on 127.0.0.1 only.
//
//   VigieJavaServices expansion PORT [Beam options]   Beam's Java expansion service
//   VigieJavaServices workers PORT [Beam options]     Beam's Java worker pool (EXTERNAL environment)
//
// Beam's own entry points (ExpansionService.main, ExternalWorkerService.main) bind every network
// interface; this launcher builds the same services into gRPC servers bound to the loopback
// address. Compiled at start time by pipelines/services/jvm.py against the resolved classpath.
package vigie;

import java.net.InetSocketAddress;
import java.util.Arrays;
import org.apache.beam.fn.harness.ExternalWorkerService;
import org.apache.beam.sdk.expansion.service.ExpansionServer;
import org.apache.beam.sdk.expansion.service.ExpansionService;
import org.apache.beam.sdk.expansion.service.ExpansionServiceOptions;
import org.apache.beam.sdk.fn.server.GrpcContextHeaderAccessorProvider;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.vendor.grpc.v1p69p0.io.grpc.Server;
import org.apache.beam.vendor.grpc.v1p69p0.io.grpc.ServerInterceptors;
import org.apache.beam.vendor.grpc.v1p69p0.io.grpc.netty.NettyServerBuilder;

public final class VigieJavaServices {
  private static final String HOST = "127.0.0.1";

  private VigieJavaServices() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 2 || !(args[0].equals("expansion") || args[0].equals("workers"))) {
      System.err.println("usage: VigieJavaServices expansion|workers PORT [Beam options]");
      System.exit(2);
    }
    int port = Integer.parseInt(args[1]);
    PipelineOptionsFactory.register(ExpansionServiceOptions.class);
    PipelineOptions options =
        PipelineOptionsFactory.fromArgs(Arrays.copyOfRange(args, 2, args.length)).create();
    if (args[0].equals("expansion")) {
      ExpansionService service = new ExpansionService(options, HOST + ":" + port);
      ExpansionServer server = ExpansionServer.create(service, HOST, port);
      System.out.println("Vigie expansion service listening on " + HOST + ":" + server.getPort());
      Runtime.getRuntime().addShutdownHook(new Thread(() -> closeQuietly(server)));
      Thread.currentThread().join();
    } else {
      Server server =
          NettyServerBuilder.forAddress(new InetSocketAddress(HOST, port))
              .maxInboundMessageSize(Integer.MAX_VALUE)
              .addService(
                  ServerInterceptors.intercept(
                      new ExternalWorkerService(options),
                      GrpcContextHeaderAccessorProvider.interceptor()))
              .build()
              .start();
      System.out.println("Vigie Java worker pool listening on " + HOST + ":" + server.getPort());
      Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
      server.awaitTermination();
    }
  }

  private static void closeQuietly(AutoCloseable closeable) {
    try {
      closeable.close();
    } catch (Exception e) {
      System.err.println("closing: " + e);
    }
  }
}
