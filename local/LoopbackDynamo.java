import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * Starts DynamoDB Local bound to the loopback interface only. The jar has no bind-address option
 * (its Jetty server is built with `new Server(port)`, which listens on every interface), so this
 * builds the server the way the jar's own main does, then sets the host on its connector before
 * it starts. Anything unexpected (another Jetty layout) stops the start rather than listen wide.
 */
public class LoopbackDynamo {
  public static void main(String[] args) throws Exception {
    String host = System.getProperty("stageline.dynamo.host", "127.0.0.1");
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    Connector[] connectors = server.getConnectors();
    if (connectors.length == 0) throw new IllegalStateException("DynamoDB Local has no connector to bind");
    for (Connector c : connectors) {
      if (!(c instanceof ServerConnector)) throw new IllegalStateException("unexpected connector " + c.getClass().getName());
      ((ServerConnector) c).setHost(host);
    }
    proxy.start();
  }
}
