// Beam's Flink job server with every gRPC endpoint (job service, artifact staging, expansion)
// bound to 127.0.0.1. It takes FlinkJobServerDriver's own arguments (--flink-master,
// --job-port, --artifact-port, --expansion-port, ...), so Beam's Python FlinkRunner can start it
// through --flink_job_server_jar: it is the Main-Class of the project's pathing jar.
//
// Why: FlinkJobServerDriver's default ServerFactory binds every interface whatever host it is
// given (NettyServerBuilder.forPort); this launcher hands JobServerDriver a factory that binds
// the loopback address instead. Compiled at start time by pipelines/services/jvm.py.
package vigie;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.beam.model.pipeline.v1.Endpoints;
import org.apache.beam.runners.flink.FlinkJobInvoker;
import org.apache.beam.runners.flink.FlinkJobServerDriver;
import org.apache.beam.runners.jobsubmission.JobServerDriver;
import org.apache.beam.sdk.fn.server.GrpcContextHeaderAccessorProvider;
import org.apache.beam.sdk.fn.server.ServerFactory;
import org.apache.beam.vendor.grpc.v1p60p1.io.grpc.BindableService;
import org.apache.beam.vendor.grpc.v1p60p1.io.grpc.Server;
import org.apache.beam.vendor.grpc.v1p60p1.io.grpc.ServerInterceptors;
import org.apache.beam.vendor.grpc.v1p60p1.io.grpc.netty.NettyServerBuilder;

public final class VigieFlinkJobServer extends JobServerDriver {
  private static final String HOST = "127.0.0.1";

  private VigieFlinkJobServer(
      FlinkJobServerDriver.FlinkServerConfiguration configuration, ServerFactory factory) {
    super(configuration, factory, factory, () -> FlinkJobInvoker.create(configuration));
  }

  public static void main(String[] args) {
    FlinkJobServerDriver.FlinkServerConfiguration configuration =
        FlinkJobServerDriver.parseArgs(args);
    new VigieFlinkJobServer(configuration, new LoopbackServerFactory()).run();
  }

  /** Servers on 127.0.0.1: the given port, or a free one. */
  static final class LoopbackServerFactory extends ServerFactory {
    @Override
    public Server allocateAddressAndCreate(
        List<BindableService> services, Endpoints.ApiServiceDescriptor.Builder descriptor)
        throws IOException {
      Server server = start(services, 0);
      descriptor.setUrl(HOST + ":" + server.getPort());
      return server;
    }

    @Override
    public Server create(List<BindableService> services, Endpoints.ApiServiceDescriptor descriptor)
        throws IOException {
      String url = descriptor.getUrl();
      return start(services, Integer.parseInt(url.substring(url.lastIndexOf(':') + 1)));
    }

    private static Server start(List<BindableService> services, int port) throws IOException {
      NettyServerBuilder builder =
          NettyServerBuilder.forAddress(new InetSocketAddress(HOST, port))
              .maxInboundMessageSize(Integer.MAX_VALUE)
              .permitKeepAliveTime(20, TimeUnit.SECONDS);
      for (BindableService service : services) {
        builder.addService(
            ServerInterceptors.intercept(service, GrpcContextHeaderAccessorProvider.interceptor()));
      }
      return builder.build().start();
    }
  }
}
