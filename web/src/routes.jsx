// The route table: path pattern -> page. `organization: false` pages work without a chosen organization.
import { ApplicationEdit, ApplicationList, ApplicationNew, ApplicationView } from "./pages/applications.jsx";
import { DeviceEdit, DeviceNew, DeviceView } from "./pages/devices.jsx";
import { GatewayEdit, GatewayList, GatewayNew, GatewayView } from "./pages/gateways.jsx";
import {
  Account, ApiKeys, Members, OrganizationSettings, Organizations, UserNew, UserView, Users,
} from "./pages/organization.jsx";
import { ProfileList, ProfileNew, ProfileView } from "./pages/profiles.jsx";

export const routes = [
  { path: "/applications", view: ApplicationList },
  { path: "/applications/new", view: ApplicationNew },
  { path: "/applications/:id", view: ApplicationView },
  { path: "/applications/:id/edit", view: ApplicationEdit },
  { path: "/applications/:id/devices/new", view: DeviceNew },
  { path: "/devices/new", view: DeviceNew },
  { path: "/devices/:dev_eui", view: DeviceView },
  { path: "/devices/:dev_eui/edit", view: DeviceEdit },
  { path: "/device-profiles", view: ProfileList },
  { path: "/device-profiles/new", view: ProfileNew },
  { path: "/device-profiles/:id", view: ProfileView },
  { path: "/gateways", view: GatewayList },
  { path: "/gateways/new", view: GatewayNew },
  { path: "/gateways/:gateway_id", view: GatewayView },
  { path: "/gateways/:gateway_id/edit", view: GatewayEdit },
  { path: "/members", view: Members },
  { path: "/api-keys", view: ApiKeys },
  { path: "/organization", view: OrganizationSettings },
  { path: "/organizations", view: Organizations, organization: false },
  { path: "/users", view: Users, organization: false },
  { path: "/users/new", view: UserNew, organization: false },
  { path: "/users/:id", view: UserView, organization: false },
  { path: "/account", view: Account, organization: false },
];
